"""What transfers add to the engines below (loaded by ``autodiscover_modules``): the
lost-pupil area as a register of the matching engine (searched by CME officers and managers
only), the CTF roll importer (kind ``ctf_roll``) in the background import queue, and,
after every roll import, new joiners looked for in the lost-pupil area (the snapshots not
yet checked; a repeat import checks nothing again)."""

from __future__ import annotations

from cmetrack.audit.services import Actor
from cmetrack.detection.jobs import register_importer
from cmetrack.detection.registries import after_roll_import_register
from cmetrack.matching.adapters import adapter_register

from .adapters import LostPupilAdapter
from .importers import ctf_roll_import
from .services import lost_pupils_check_rolls

adapter_register(LostPupilAdapter())
register_importer("ctf_roll", ctf_roll_import)


def new_joiners_checked(actor: Actor) -> None:
    lost_pupils_check_rolls(actor=actor)


after_roll_import_register(new_joiners_checked)
