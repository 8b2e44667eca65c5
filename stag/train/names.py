"""Run names: a model and what it was trained and fed with, as one small typed value.

Tables name a run ``<model>[+<tag>...][@<input>...]`` (like timm's model-name tags):

- ``model``: the registry name (``stag``, ``stag_no_graph``, ``offapexnet_stack``);
- tags after ``+``: how it was trained beyond its study's recipe: ``pre`` (from synthetic
  pretraining), ``au`` (with the auxiliary AU loss);
- inputs after ``@``: what it read other than its study's input: ``K1`` (one keyframe where the
  study has more), ``apex_offset`` (the apex->offset flow alone), a flow preset (``tvl1``),
  ``apex`` (the annotated apex instead of the spotted one).

``stag_no_graph+pre@K1`` is the no-graph ablation, pretrained, on one keyframe. A name is built
once from a run's ``results.json`` (:meth:`RunName.from_results`) and parsed once from text
(:meth:`RunName.parse`); code asks the value (``.model``, ``.pretrained``, ``.inputs``), never
the string.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Every training tag, in the order names write them.
TAGS: tuple[str, ...] = ("pre", "au")
#: The roles of :attr:`RunName.role`, in table order.
ROLE_ORDER: tuple[str, ...] = ("STAG", "ablation", "control", "baseline")


@dataclass(frozen=True)
class RunName:
    """``model`` + ``tags`` + ``inputs`` (module doc). ``str(name)`` is the table's name."""

    model: str
    tags: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.model or any(c in self.model for c in "+@"):
            raise ValueError(f"run name: model {self.model!r} must be a registry name (no '+' or '@')")
        bad = [t for t in self.tags if t not in TAGS]
        if bad:
            raise ValueError(f"run name {self.model}: unknown tag(s) {bad}; expected some of {TAGS}")
        object.__setattr__(self, "tags", tuple(t for t in TAGS if t in self.tags))

    def __str__(self) -> str:
        return self.model + "".join(f"+{t}" for t in self.tags) + "".join(f"@{i}" for i in self.inputs)

    @classmethod
    def parse(cls, text: str) -> RunName:
        """``"stag_no_graph+pre@K1"`` -> ``RunName("stag_no_graph", ("pre",), ("K1",))``."""
        head, *inputs = str(text).split("@")
        model, *tags = head.split("+")
        return cls(model, tuple(tags), tuple(inputs))

    @classmethod
    def from_results(cls, results: dict, *, keyframes: int | None = None, default_flow: str | None = None) -> RunName:
        """The name of a run from its ``results.json``.

        Args:
            results: the run's ``results.json``.
            keyframes: the study's K: a STAG-family run with another K gets ``@K<k>``
                (``None``: never).
            default_flow: the study's flow preset: a run with another gets ``@<preset>``
                (``None``: never).
        """
        train = (results.get("config") or {}).get("train") or {}
        data = results.get("data") or {}
        prep = data.get("prepare") or {}
        tags = []
        if ((results.get("config") or {}).get("model") or {}).get("init"):
            tags.append("pre")
        if float(train.get("au_loss_weight") or 0) > 0:
            tags.append("au")
        inputs = []
        k = prep.get("keyframes")
        if (data.get("params") or {}).get("phases") == "apex_offset":
            inputs.append("apex_offset")
        elif keyframes is not None and k is not None and int(k) != keyframes and results["model"].startswith("stag"):
            inputs.append(f"K{k}")
        if default_flow is not None and prep.get("flow_method", default_flow) != default_flow:
            inputs.append(str(prep["flow_method"]))
        if prep.get("apex") == "annotated":
            inputs.append("apex")
        return cls(results["model"], tuple(tags), tuple(inputs))

    @property
    def pretrained(self) -> bool:
        return "pre" in self.tags

    @property
    def is_stag_family(self) -> bool:
        return self.model == "stag" or self.model.startswith("stag_")

    @property
    def role(self) -> str:
        """``"STAG"`` (also a training variant of it, ``stag+au``), ``"control"`` (any model fed
        another input than its study's: ``stag@K1``), ``"ablation"`` (``stag_*``) or ``"baseline"``."""
        if self.inputs:
            return "control"
        if self.model == "stag":
            return "STAG"
        return "ablation" if self.model.startswith("stag_") else "baseline"

    def with_tags(self, *tags: str) -> RunName:
        return replace(self, tags=tuple(tags))

    def with_inputs(self, *inputs: str) -> RunName:
        return replace(self, inputs=tuple(inputs))

    def input(self, prefix: str) -> str | None:
        """The first input that starts with ``prefix`` (``"K"`` -> ``"K1"``), or ``None``."""
        return next((i for i in self.inputs if i.startswith(prefix)), None)


def run_name(results: dict) -> RunName:
    """The name of a run in a study with no other inputs (the registry name and its training tags)."""
    return RunName.from_results(results)


def model_role(name: str | RunName) -> str:
    """:attr:`RunName.role` of a name or its text."""
    return (name if isinstance(name, RunName) else RunName.parse(name)).role
