"""gRPC modules generated from ../protos by ../regenerate.sh: do not edit."""
