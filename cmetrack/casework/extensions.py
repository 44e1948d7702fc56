"""What tracking work adds to the case engine (loaded by ``autodiscover_modules``): the
"overdue tasks" work queue among the cases app's queues, and the prompt to send the
transfer file when a child is found on another school's roll (after the move to located)."""

from __future__ import annotations

from cmetrack.cases import selectors as case_selectors
from cmetrack.cases.registries import after_transition_register

from .selectors import OVERDUE_TASKS_QUEUE, with_overdue_tasks
from .services import transfer_file_prompt

case_selectors.QUEUE_HOOKS[OVERDUE_TASKS_QUEUE[0]] = (OVERDUE_TASKS_QUEUE[1], with_overdue_tasks)
case_selectors.QUEUES.setdefault(*OVERDUE_TASKS_QUEUE)
after_transition_register(transfer_file_prompt)
