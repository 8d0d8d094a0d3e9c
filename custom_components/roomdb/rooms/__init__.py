"""The room database: per-room configs admitted by the area mapping, export, pipelines.

Pure core (no ``homeassistant`` import, tested directly): ``mapping`` (parse/validate the v3.1
file, the allowed matrix, diffs), ``admission``, ``limiter`` (write limiter),
``export_doc`` (the export document, atomic writes) and ``configs`` (the one write path into
``room_configs``, driven by the benchmark with a bare database).

HA glue: ``mapping_manager`` (the mapping in force, polling, repair issue), ``mapping_problems``
(rooms kept with warnings, live area checks, their repair issue), ``export`` (debounced
export file), ``pipeline_writer``, ``activity`` and ``vacuum`` (the pipelines), ``generate``
(starter mapping from the registries), ``runtime`` (wires one entry's parts together),
``services`` and ``sensors``.
"""
