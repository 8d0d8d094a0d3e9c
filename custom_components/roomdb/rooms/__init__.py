"""RoomDB's room database: per-room configs admitted by the area mapping, export, pipelines.

Table of contents (the layout every part follows):

runtime       ``runtime``: ``RoomsRuntime``, one entry's mapping, limiter, store, export, pipelines
store / db    ``store``: the one write path into ``room_configs`` (admission, limiter, upsert,
              counters; driven by the benchmark with a bare database)
sensors       ``sensors``: write counters and the mapped rooms
services      ``services``: the room-config services' schemas and thin handlers
options       ``options``: the entry's paths and options, read at setup
pure core     ``mapping`` (the model: rooms and capabilities), ``mapping_errors`` (error codes,
              errors, warnings), ``mapping_nodes`` (reading PyYAML's node tree),
              ``mapping_validator`` (the walk that finds the problems), ``mapping_parse`` (file
              and text in, result out; unknown areas), ``mapping_diff`` (what changed),
              ``mapping_render`` (YAML out, starter mapping from areas), ``admission`` (may room R
              hold domain D: the matrix and its refusals), ``limiter`` (write limiting),
              ``export_doc`` (the export document, atomic writes)
HA glue       ``mapping_manager`` (the mapping in force, polling, repair issue),
              ``mapping_problems`` (rooms kept with warnings, live area checks), ``export`` (the
              debounced export file), ``pipeline_writer``, ``activity`` and ``vacuum`` (the
              pipelines), ``generate`` (a starter mapping from HA's registries)
"""
