"""Jaeger sampling strategies: the file format (strict), Jaeger's merge rules, and the remote answer (lenient)."""

from __future__ import annotations

import json

import pytest

from tracing import ConfigError
from tracing.sampling import (
    OperationSampling,
    Strategy,
    load_strategies,
    parse_strategies,
    validate_strategies_file,
)
from tracing.sampling._wire import parse_response


def _problems(text: str, where: str = "s.json") -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_strategies(text, where)
    return [str(p) for p in err.value.problems]


# Jaeger's own fixture (internal/sampling/samplingstrategy/file/fixtures/operation_strategies.json)
# without the ratelimiting operation strategies that Jaeger drops and this parser refuses.
JAEGER_OPERATION_STRATEGIES = {
    "default_strategy": {
        "type": "probabilistic",
        "param": 0.5,
        "operation_strategies": [
            {"operation": "op0", "type": "probabilistic", "param": 0.2},
            {"operation": "op6", "type": "probabilistic", "param": 0},
            {"operation": "op7", "type": "probabilistic", "param": 1},
        ],
    },
    "service_strategies": [
        {
            "service": "foo",
            "type": "probabilistic",
            "param": 0.8,
            "operation_strategies": [
                {"operation": "op6", "type": "probabilistic", "param": 0.5},
                {"operation": "op1", "type": "probabilistic", "param": 0.2},
            ],
        },
        {
            "service": "bar",
            "type": "ratelimiting",
            "param": 5,
            "operation_strategies": [
                {"operation": "op3", "type": "probabilistic", "param": 0.3},
                {"operation": "op5", "type": "probabilistic", "param": 0.4},
            ],
        },
        {"service": "ServiceA", "type": "probabilistic", "param": 1.0},
        {"service": "ServiceB", "type": "ratelimiting", "param": 3},
    ],
}
DEFAULT_OPS = (("op0", 0.2), ("op6", 0.0), ("op7", 1.0))


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        pytest.param(
            "foo",
            Strategy(
                "probabilistic",
                0.8,
                OperationSampling(0.8, 0.0, (("op6", 0.5), ("op1", 0.2), ("op0", 0.2), ("op7", 1.0))),
            ),
            id="own-operations-win-and-default-operations-are-added",
        ),
        pytest.param(
            "bar",
            Strategy(
                "ratelimiting", 5.0, OperationSampling(0.001, 0.0, (("op3", 0.3), ("op5", 0.4), *DEFAULT_OPS))
            ),
            id="ratelimiting-service-gets-default-operations-too-and-falls-back-to-0.001",
        ),
        pytest.param(
            "ServiceA",
            Strategy("probabilistic", 1.0, OperationSampling(1.0, 0.0, DEFAULT_OPS)),
            id="service-without-operations-inherits-them-with-its-own-probability",
        ),
        pytest.param(
            "ServiceB",
            Strategy("ratelimiting", 3.0, OperationSampling(0.5, 0.0, DEFAULT_OPS)),
            id="ratelimiting-service-without-operations-inherits-the-default-fallback",
        ),
        pytest.param(
            "unknown",
            Strategy("probabilistic", 0.5, OperationSampling(0.5, 0.0, DEFAULT_OPS)),
            id="unknown-service-gets-the-default",
        ),
    ],
)
def test_merge_follows_jaegers_file_provider(service, expected):
    strategies = parse_strategies(json.dumps(JAEGER_OPERATION_STRATEGIES), "s.json")
    assert strategies.for_service(service) == expected


@pytest.mark.parametrize(
    ("doc", "service", "expected"),
    [
        ({}, "any", Strategy("probabilistic", 0.001)),
        ({"service_strategies": []}, "any", Strategy("probabilistic", 0.001)),
        ({"default_strategy": {"type": "ratelimiting", "param": 10}}, "any", Strategy("ratelimiting", 10.0)),
        (
            {"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 2}]},
            "a",
            Strategy("ratelimiting", 2.0),
        ),
        (
            {
                "service_strategies": [
                    {"service": "a", "type": "probabilistic", "param": 0.1, "operation_strategies": []}
                ]
            },
            "a",
            Strategy("probabilistic", 0.1),
        ),
        (
            {"default_strategy": None, "service_strategies": None},
            "any",
            Strategy("probabilistic", 0.001),
        ),
    ],
    ids=[
        "empty-object-means-probabilistic-0.001",
        "no-services",
        "default-ratelimiting",
        "service-without-any-operations",
        "empty-operation-list-means-none",
        "nulls-mean-absent",
    ],
)
def test_valid_files_without_operation_inheritance(doc, service, expected):
    assert parse_strategies(json.dumps(doc), "s.json").for_service(service) == expected


def test_a_byte_order_mark_and_bytes_are_accepted():
    text = '\ufeff{"default_strategy": {"type": "probabilistic", "param": 0.25}}'
    assert parse_strategies(text.encode("utf-8"), "s.json").default == Strategy("probabilistic", 0.25)
    assert parse_strategies(text, "s.json").default == Strategy("probabilistic", 0.25)


INVALID = [
    (
        "",
        [
            's.json: empty; expected a JSON object like {"default_strategy": {"type": "probabilistic", "param": 0.001}}'
        ],
    ),
    ('{"default_strategy": ', ["s.json: not valid JSON at line 1, column 22: Expecting value"]),
    ("[]", ["s.json: expected an object at the top level, got array"]),
    (
        '{"services": []}',
        ['s.json: services: unknown field "services"; known fields: default_strategy, service_strategies'],
    ),
    ('{"default_strategy": []}', ["s.json: default_strategy: must be an object, got array"]),
    ('{"service_strategies": {}}', ["s.json: service_strategies: must be an array, got object"]),
    (
        '{"default_strategy": {"type": "const", "param": 1}}',
        ['s.json: default_strategy.type: must be "probabilistic" or "ratelimiting", got "const"'],
    ),
    (
        '{"default_strategy": {"param": 1}}',
        ['s.json: default_strategy.type: required; expected "probabilistic" or "ratelimiting"'],
    ),
    (
        '{"default_strategy": {"type": "probabilistic"}}',
        ["s.json: default_strategy.param: required; expected a probability between 0 and 1"],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": 1.5}}',
        ["s.json: default_strategy.param: must be a probability between 0 and 1, got 1.5"],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": "0.5"}}',
        ['s.json: default_strategy.param: must be a number, got string "0.5"'],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": true}}',
        ["s.json: default_strategy.param: must be a number, got boolean true"],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": NaN}}',
        ["s.json: default_strategy.param: must be a finite number, got NaN"],
    ),
    (
        '{"default_strategy": {"type": 1, "param": 1}}',
        ["s.json: default_strategy.type: must be a string, got integer"],
    ),
    (
        '{"default_strategy": {"type": "ratelimiting", "param": -1}}',
        ["s.json: default_strategy.param: must be traces per second >= 0, got -1"],
    ),
    (
        '{"default_strategy": {"type": "ratelimiting", "param": 2.5}}',
        [
            "s.json: default_strategy.param: must be a whole number of traces per second (Jaeger truncates it), got 2.5"
        ],
    ),
    (
        '{"default_strategy": {"type": "ratelimiting", "param": 3000000000}}',
        ["s.json: default_strategy.param: must be at most 2147483647 traces per second, got 3e+09"],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": 0.1, "param": 0.2}}',
        ['s.json: default_strategy.param: duplicate field "param"'],
    ),
    (
        '{"service_strategies": [{"type": "probabilistic", "param": 0.1}]}',
        ["s.json: service_strategies[0].service: required; expected the service name (OTEL_SERVICE_NAME)"],
    ),
    (
        '{"service_strategies": [{"service": " ", "type": "probabilistic", "param": 0.1}]}',
        [
            "s.json: service_strategies[0].service: must not be empty; expected the service name (OTEL_SERVICE_NAME)"
        ],
    ),
    (
        '{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.1, "operation": "x"}]}',
        [
            's.json: service_strategies[0].operation: unknown field "operation"; '
            "known fields: service, type, param, operation_strategies"
        ],
    ),
    (
        '{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.1},'
        ' {"service": "a", "type": "probabilistic", "param": 0.2}]}',
        ['s.json: service_strategies[1].service: duplicate service "a", also at service_strategies[0]'],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": 0.1,'
        ' "operation_strategies": [{"operation": "x", "type": "ratelimiting", "param": 1}]}}',
        [
            "s.json: default_strategy.operation_strategies[0].type: "
            'must be "probabilistic" (Jaeger ignores ratelimiting operation strategies), got "ratelimiting"'
        ],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": 0.1, "operation_strategies": ['
        '{"operation": "x", "type": "probabilistic", "param": 1},'
        '{"operation": "x", "type": "probabilistic", "param": 0}]}}',
        [
            's.json: default_strategy.operation_strategies[1].operation: duplicate operation "x", '
            "also at default_strategy.operation_strategies[0]"
        ],
    ),
    (
        '{"default_strategy": {"type": "probabilistic", "param": 0.1, "operation_strategies": ['
        '{"operation": "x", "type": "probabilistic", "param": 1, "service": "a"}]}}',
        [
            's.json: default_strategy.operation_strategies[0].service: unknown field "service"; '
            "known fields: operation, type, param"
        ],
    ),
]


INVALID_IDS = [
    "empty",
    "not-json",
    "array",
    "unknown-top-field",
    "default-not-object",
    "services-not-array",
    "unknown-type",
    "missing-type",
    "missing-param",
    "probability-above-1",
    "param-string",
    "param-boolean",
    "param-nan",
    "type-not-string",
    "negative-rate",
    "fractional-rate",
    "rate-over-int32",
    "duplicate-field",
    "missing-service",
    "blank-service",
    "unknown-service-field",
    "duplicate-service",
    "ratelimiting-operation",
    "duplicate-operation",
    "unknown-operation-field",
]


@pytest.mark.parametrize(("text", "expected"), INVALID, ids=INVALID_IDS)
def test_invalid_files_are_refused_with_file_path_and_message(text, expected):
    assert _problems(text) == expected


def test_every_problem_is_reported_not_just_the_first():
    doc = {
        "default_strategy": {"type": "const", "param": 1},
        "service_strategies": [
            {"service": "a", "type": "probabilistic", "param": 2},
            [],
            {
                "service": "b",
                "type": "ratelimiting",
                "param": -3,
                "operation_strategies": [{"operation": "", "param": 0}],
            },
        ],
        "extra": 1,
    }
    assert [p.split(": ")[1] for p in _problems(json.dumps(doc))] == [
        "extra",
        "default_strategy.type",
        "service_strategies[0].param",
        "service_strategies[1]",
        "service_strategies[2].param",
        "service_strategies[2].operation_strategies[0].operation",
        "service_strategies[2].operation_strategies[0].type",
    ]


def test_load_strategies_reports_a_missing_file(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(ConfigError) as err:
        load_strategies(path)
    assert str(err.value) == f"{path}: cannot read file: No such file or directory"


def test_validate_summarises_what_each_service_gets(tmp_path):
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps(JAEGER_OPERATION_STRATEGIES))
    assert validate_strategies_file(path).splitlines() == [
        f"{path}: Jaeger sampling strategies: default per operation: 3 operations, others probabilistic 0.5, 4 services",
        "  foo: per operation: 4 operations, others probabilistic 0.8",
        "  bar: per operation: 5 operations, others probabilistic 0.001 (ratelimiting 5/s unused: operation sampling wins)",
        "  ServiceA: per operation: 3 operations, others probabilistic 1",
        "  ServiceB: per operation: 3 operations, others probabilistic 0.5 (ratelimiting 3/s unused: operation sampling wins)",
    ]


def test_validate_raises_config_error_for_an_invalid_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"default_strategy": {"type": "probabilistic", "param": 7}}')
    with pytest.raises(ConfigError, match=r"bad\.json: default_strategy\.param: must be a probability"):
        validate_strategies_file(path)


# --- the remote answer ------------------------------------------------------------------------------

PER_OPERATION_ANSWER = {
    "strategyType": 0,
    "probabilisticSampling": {"samplingRate": 0.3},
    "operationSampling": {
        "defaultSamplingProbability": 0.1,
        "defaultLowerBoundTracesPerSecond": 0.5,
        "defaultUpperBoundTracesPerSecond": 10,
        "perOperationStrategies": [
            {"operation": "GET /a", "probabilisticSampling": {"samplingRate": 1}},
            {"operation": "GET /b", "probabilisticSampling": {}},
        ],
    },
}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"strategyType": 0, "probabilisticSampling": {"samplingRate": 0.5}}, Strategy("probabilistic", 0.5)),
        (
            {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": 0.5}},
            Strategy("probabilistic", 0.5),
        ),
        (
            {"strategyType": 1, "rateLimitingSampling": {"maxTracesPerSecond": 100}},
            Strategy("ratelimiting", 100.0),
        ),
        (
            {"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 7}},
            Strategy("ratelimiting", 7.0),
        ),
        ({"probabilisticSampling": {}}, Strategy("probabilistic", 0.0)),
        ({"rateLimitingSampling": {"maxTracesPerSecond": 2}}, Strategy("ratelimiting", 2.0)),
        (
            {"strategyType": 0, "probabilisticSampling": {"samplingRate": 0.5}, "newField": {"x": 1}},
            Strategy("probabilistic", 0.5),
        ),
        (
            PER_OPERATION_ANSWER,
            Strategy("probabilistic", 0.3, OperationSampling(0.1, 0.5, (("GET /a", 1.0), ("GET /b", 0.0)))),
        ),
        (
            {"operationSampling": {"defaultSamplingProbability": 0.2}},
            Strategy("probabilistic", 0.0, OperationSampling(0.2, 0.0, ())),
        ),
    ],
    ids=[
        "numeric-probabilistic",
        "string-probabilistic",
        "numeric-ratelimiting",
        "string-ratelimiting",
        "proto3-zero-values-left-out",
        "type-inferred-from-submessage",
        "unknown-fields-ignored",
        "per-operation",
        "per-operation-alone",
    ],
)
def test_remote_answers_in_both_wire_forms_are_understood(answer, expected):
    assert parse_response(json.dumps(answer), "url") == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<html>oops</html>", ["url: not valid JSON at line 1, column 1: Expecting value"]),
        ("", ["url: empty; expected a sampling strategy response"]),
        ("[]", ["url: expected an object at the top level, got array"]),
        ("{}", ["url: expected probabilisticSampling, rateLimitingSampling or operationSampling"]),
        (
            '{"strategyType": 5}',
            ['url: strategyType: must be 0 or "PROBABILISTIC", 1 or "RATE_LIMITING", got 5'],
        ),
        (
            '{"strategyType": 0}',
            [
                "url: probabilisticSampling: required when strategyType is PROBABILISTIC and there is no operationSampling"
            ],
        ),
        (
            '{"strategyType": 0, "probabilisticSampling": {"samplingRate": 1.5}}',
            ["url: probabilisticSampling.samplingRate: must be a probability between 0 and 1, got 1.5"],
        ),
        (
            '{"strategyType": 1, "rateLimitingSampling": {"maxTracesPerSecond": -2}}',
            ["url: rateLimitingSampling.maxTracesPerSecond: must be traces per second >= 0, got -2"],
        ),
        (
            '{"operationSampling": {"perOperationStrategies": [{"operation": "a"}]}}',
            [
                "url: operationSampling.perOperationStrategies[0].probabilisticSampling: "
                'required; expected {"samplingRate": <probability>}'
            ],
        ),
    ],
    ids=[
        "garbage",
        "empty",
        "array",
        "nothing",
        "unknown-type",
        "missing-rate",
        "rate-too-high",
        "negative",
        "no-op-rate",
    ],
)
def test_unusable_remote_answers_are_refused(body, expected):
    with pytest.raises(ConfigError) as err:
        parse_response(body, "url")
    assert [str(p) for p in err.value.problems] == expected
