"""Acceptance dossier (验收申报材料) of a zone: gathered from the services, rendered as PDF
and as an Excel workbook."""
