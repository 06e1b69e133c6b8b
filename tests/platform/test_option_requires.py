"""``option(requires=...)``: a field that matters only while a bool option is on (StableAnimator's
HJB steps and iterations with ``hjb``). The model describes it, refuses a switch that is not a bool
option, the CLI's help says "Only with --switch" and the form enables it only while the switch is on
(tests/gui/test_render_settings_panel.py)."""

from __future__ import annotations

import pytest

from studio.cli.options_flags import _help
from studio.core.options import BackendOptions, option


class Toy(BackendOptions):
    refine: bool = option(False, help="Refine the faces.")
    refine_steps: int = option(3, ge=1, le=9, requires="refine", help="Steps of the refinement.")
    strength: float = option(1.0, help="How strong.")


def test_the_field_names_its_switch():
    fields = {f.name: f for f in Toy.describe()}
    assert fields["refine_steps"].requires == "refine"
    assert fields["strength"].requires == "" and fields["refine"].requires == ""


def test_the_cli_help_names_the_flag():
    fields = {f.name: f for f in Toy.describe()}
    assert _help(fields["refine_steps"]).endswith("Default: 3. Only with --refine.")
    assert "Only with" not in _help(fields["strength"])


@pytest.mark.parametrize("switch", ["strength", "no_such_field"])
def test_a_switch_that_is_not_a_bool_option_is_refused(switch):
    class Bad(BackendOptions):
        strength: float = option(1.0, help="How strong.")
        steps: int = option(3, requires=switch, help="Steps.")

    with pytest.raises(TypeError, match=f"Bad.steps requires '{switch}'"):
        Bad.describe()


def test_stableanimator_hjb_settings_follow_hjb():
    from studio.backends.stableanimator.options import StableAnimatorOptions

    needs = {f.name: f.requires for f in StableAnimatorOptions.describe() if f.requires}
    assert needs == {"hjb_start_step": "hjb", "hjb_end_step": "hjb", "hjb_iterations": "hjb"}
