"""A papermill typo fails loudly: unknown names, wrong types, out-of-range values."""

import pytest

from sfdpo_helpers.params import ParameterError, check_parameters, defaults_of


def namespace(**injected):
    ns = {"pd": object()}
    before = set(ns)
    ns.update(model="embedded", steps=10, lr=1e-3, limit=None, use_lora=True)
    defaults = defaults_of(ns, before)
    ns.update(injected)
    return ns, before, defaults


def test_defaults_pass():
    ns, before, defaults = namespace()
    assert check_parameters(ns, before, defaults)["steps"] == 10


def test_int_for_float_and_anything_for_none_default():
    ns, before, defaults = namespace(lr=1, limit=50)
    assert check_parameters(ns, before, defaults)["limit"] == 50


@pytest.mark.parametrize(
    "injected,message",
    [
        ({"stpes": 5}, r"unknown parameter\(s\) \['stpes'\]"),
        ({"steps": "10"}, "steps='10' should be int"),
        ({"steps": 2.5}, "steps=2.5 should be int"),
        ({"use_lora": 1}, "use_lora=1 should be bool"),
        ({"steps": True}, "steps=True should be int"),
        ({"model": 3}, "model=3 should be str"),
    ],
)
def test_bad_parameters(injected, message):
    ns, before, defaults = namespace(**injected)
    with pytest.raises(ParameterError, match=message):
        check_parameters(ns, before, defaults)


def test_ranges_and_choices():
    ns, before, defaults = namespace(steps=0)
    with pytest.raises(ParameterError, match="steps must be positive"):
        check_parameters(ns, before, defaults, positive=["steps"])
    ns, before, defaults = namespace(lr=-1.0)
    with pytest.raises(ParameterError, match="lr must be >= 0"):
        check_parameters(ns, before, defaults, non_negative=["lr"])
    ns, before, defaults = namespace(model="gpt5")
    with pytest.raises(ParameterError, match="must be one of"):
        check_parameters(ns, before, defaults, choices={"model": {"embedded", "tiny"}})
