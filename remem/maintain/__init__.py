"""Maintenance: forgetting, consolidation, archive and restore, rollback."""

from remem.maintain.maintainer import Maintainer
from remem.models.maintenance import MaintenanceReport, RollbackReport
from remem.maintain.policy import KindPolicy, MaintenancePolicy

__all__ = ["KindPolicy", "MaintenancePolicy", "Maintainer", "MaintenanceReport", "RollbackReport"]
