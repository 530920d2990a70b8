"""Moving an environment's audio between the disk and S3, and repairing old references and keys.

Every move follows the finalize order: the data is copied and verified first, the record is switched
second, and the old copy is deleted last. A process killed at any instant therefore leaves every
record pointing at audio that exists; a rerun sees what is already done (from the records; an upload
a killed run left in S3 is found by its create-only PUT, not by a listing or a HEAD per file) and
finishes the rest.

``plan.py`` holds the typed plan and report, ``runner.py`` the worker pool, and each move is one
module (``to_s3``, ``to_local``, ``fix_keys``, ``to_scaled``) with a planner and a handler per action.
"""

from app.moves.base import Move
from app.moves.fix_keys import FixKeys
from app.moves.plan import Action, Item, OrphanFile, Plan, Report
from app.moves.to_local import ToLocal
from app.moves.to_s3 import ToS3
from app.moves.to_scaled import ToScaled

__all__ = ["Action", "FixKeys", "Item", "Move", "OrphanFile", "Plan", "Report", "ToLocal", "ToS3", "ToScaled"]
