"""Label schemes: map each dataset's emotion strings onto class ids.

A scheme lists its classes and, for every emotion string it knows, the class it maps to, or
``None`` when the scheme leaves that emotion out by design (``"others"`` in ``composite3``,
as in MEGC2019). An emotion the scheme has never heard of raises, naming the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass

# Spellings found in the released annotation files -> one canonical emotion word.
ALIASES = {
    "happy": "happiness", "happiness": "happiness", "positive": "positive",
    "sad": "sadness", "sadness": "sadness", "surprise": "surprise", "surprised": "surprise",
    "disgust": "disgust", "repression": "repression", "fear": "fear", "anger": "anger",
    "angry": "anger", "contempt": "contempt", "others": "others", "other": "others",
    "negative": "negative",
}


def canonical_emotion(text: object) -> str:
    """Lower-case, trim and de-alias an emotion string (``" Happy "`` -> ``"happiness"``)."""
    key = str(text).strip().lower()
    return ALIASES.get(key, key)


@dataclass(frozen=True)
class LabelScheme:
    """Classes and the mapping from canonical emotion words to class names.

    Args:
        name: scheme name (``"composite3"``).
        classes: class names; the class id is the position in this tuple.
        mapping: canonical emotion -> class name, or ``None`` to exclude that emotion.
    """

    name: str
    classes: tuple[str, ...]
    mapping: dict[str, str | None]

    def __post_init__(self) -> None:
        bad = {v for v in self.mapping.values() if v is not None and v not in self.classes}
        if bad:
            raise ValueError(f"scheme {self.name!r} maps onto unknown classes {sorted(bad)}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_name(self, emotion: object, where: str = "") -> str | None:
        """Class name for a dataset emotion string, ``None`` if excluded by the scheme.

        Raises:
            ValueError: the emotion is unknown to the scheme; the message names ``where``
                (file and row) and lists the known emotions.
        """
        key = canonical_emotion(emotion)
        if key not in self.mapping:
            known = ", ".join(sorted(self.mapping))
            loc = f"{where}: " if where else ""
            raise ValueError(
                f"{loc}unknown emotion {str(emotion)!r} for label scheme {self.name!r}; "
                f"known emotions: {known}"
            )
        return self.mapping[key]

    def encode(self, emotion: object, where: str = "") -> int | None:
        """Class id for a dataset emotion string, ``None`` if excluded by the scheme."""
        name = self.class_name(emotion, where)
        return None if name is None else self.classes.index(name)


def _scheme(name: str, classes: tuple[str, ...], mapping: dict[str, str | None]) -> LabelScheme:
    return LabelScheme(name, classes, mapping)


_NEG3 = {e: "negative" for e in ("negative", "disgust", "repression", "anger", "contempt", "fear", "sadness")}

SCHEMES: dict[str, LabelScheme] = {
    # MEGC2019 composite: negative / positive / surprise; "others" is left out.
    "composite3": _scheme("composite3", ("negative", "positive", "surprise"),
                          {**_NEG3, "happiness": "positive", "positive": "positive",
                           "surprise": "surprise", "others": None}),
    # CASME II 5 classes (sadness and fear, 6 clips in all, are left out as usual).
    "casme2_5": _scheme("casme2_5", ("happiness", "surprise", "disgust", "repression", "others"),
                        {"happiness": "happiness", "surprise": "surprise", "disgust": "disgust",
                         "repression": "repression", "others": "others",
                         "sadness": None, "fear": None}),
    # SAMM 5 classes (disgust, fear and sadness are left out as usual).
    "samm_5": _scheme("samm_5", ("anger", "contempt", "happiness", "surprise", "others"),
                      {"anger": "anger", "contempt": "contempt", "happiness": "happiness",
                       "surprise": "surprise", "others": "others",
                       "disgust": None, "fear": None, "sadness": None}),
    "smic_3": _scheme("smic_3", ("negative", "positive", "surprise"),
                      {"negative": "negative", "positive": "positive", "surprise": "surprise"}),
    "casme3_7": _scheme("casme3_7", ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others"),
                        {e: e for e in ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others")}),
    "casme3_4": _scheme("casme3_4", ("negative", "positive", "surprise", "others"),
                        {**{e: "negative" for e in ("anger", "disgust", "fear", "sadness")},
                         "happiness": "positive", "surprise": "surprise", "others": "others"}),
    "dfme_7": _scheme("dfme_7", ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"),
                      {e: e for e in ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")}),
}


def get_scheme(name: str | LabelScheme) -> LabelScheme:
    """Look a scheme up by name (a :class:`LabelScheme` passes through)."""
    if isinstance(name, LabelScheme):
        return name
    if name not in SCHEMES:
        raise ValueError(f"unknown label scheme {name!r}; available: {', '.join(SCHEMES)}")
    return SCHEMES[name]
