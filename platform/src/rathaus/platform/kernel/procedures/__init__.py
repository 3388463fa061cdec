"""Services as data: procedure definitions, their checks, the one rule engine, the JSON
Schema of each version's submission, and how data is shown.

The files live in ``rathaus.contracts.procedures`` (built in) and in the directories the
setting ``procedure_dirs`` names; see docs/services.md for their format.
"""

from rathaus.platform.kernel.procedures.definition import Definition, Node
from rathaus.platform.kernel.procedures.engine import Inputs, Result, html_name, judge, path_key, preview
from rathaus.platform.kernel.procedures.loader import ProcedureProblems
from rathaus.platform.kernel.procedures.registry import (
    Offer,
    ProcedureChanged,
    Procedures,
    load_procedures,
)

__all__ = [
    "Definition",
    "Inputs",
    "Node",
    "Offer",
    "ProcedureChanged",
    "ProcedureProblems",
    "Procedures",
    "Result",
    "html_name",
    "judge",
    "load_procedures",
    "path_key",
    "preview",
]
