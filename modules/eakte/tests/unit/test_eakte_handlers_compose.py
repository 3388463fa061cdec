"""The E-Akte's use cases are mixins joined in one class: two mixins that define the same
method shadow one another silently (the first in the MRO wins). Only deliberate overrides
that call ``super()`` may share a name."""

from collections import defaultdict

from rathaus.eakte.handlers import EAkte

COOPERATIVE = {"open_case"}  # FeeHandlers.open_case extends CaseHandlers.open_case via super()


def test_no_two_mixins_define_the_same_method() -> None:
    owners: dict[str, list[str]] = defaultdict(list)
    for cls in EAkte.__mro__[1:]:
        if cls.__module__.startswith("rathaus.eakte."):
            for name, value in vars(cls).items():
                if callable(value) and not (name.startswith("__") and name.endswith("__")):
                    owners[name].append(cls.__name__)
    shared = {name: classes for name, classes in owners.items() if len(classes) > 1}
    assert set(shared) <= COOPERATIVE, shared
