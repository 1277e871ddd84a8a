"""fasttransfer.overrides: the --set FIELD=VALUE convention, parsed by the field's type."""

from dataclasses import dataclass

import pytest

from fasttransfer.errors import InputError
from fasttransfer.overrides import apply_overrides


@dataclass(frozen=True)
class _Cfg:
    widths: tuple[int, ...] = (1, 2)
    lr: float = 0.1
    name: str = "a"
    flag: bool = False
    cap: int | None = None


def test_apply_overrides_parses_by_field_type():
    cfg = apply_overrides(_Cfg(), ["widths=64, 128", "lr=1e-3", "name=b", "flag=true", "cap=none"])
    assert cfg == _Cfg(widths=(64, 128), lr=1e-3, name="b", flag=True, cap=None)
    assert apply_overrides(_Cfg(), ["cap=3"]).cap == 3
    assert apply_overrides(_Cfg(), []) == _Cfg()
    with pytest.raises(InputError, match="FIELD one of widths, lr, name, flag, cap") as err:
        apply_overrides(_Cfg(), ["steps=3"])
    assert err.value.param == "set"
    with pytest.raises(InputError, match="not a float"):
        apply_overrides(_Cfg(), ["lr=fast"])
    with pytest.raises(InputError, match="FIELD=VALUE"):
        apply_overrides(_Cfg(), ["lr"])
