from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandboxer.config.synthesize import SynthesizeConfig, SynthesizeMode


def test_defaults_and_fill() -> None:
    assert SynthesizeConfig().mode is SynthesizeMode.tables
    cfg = SynthesizeConfig.model_validate(
        {"mode": "fill_in", "fill": [{"table": "orders", "rows": 10, "where": "status = 'x'"}]}
    )
    assert cfg.fill[0].rows == 10


@pytest.mark.parametrize(
    "data",
    [
        {"scale": 1000},
        {"scale": 0.001},
        {"mode": "fill_in"},
        {"fill": [{"table": "t", "rows": 1}]},
        {"sacle": 2},
        {"mode": "fill_in", "fill": [{"table": "t", "rows": 0}]},
    ],
)
def test_invalid(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SynthesizeConfig.model_validate(data)
