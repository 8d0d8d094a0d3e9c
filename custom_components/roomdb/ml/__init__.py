"""RoomDB's ML data layer: raw events → features → sleep labels → CLR and BOCPD → views, entities.

Time axes are UTC epoch seconds throughout. Table of contents (the layout every part follows):

runtime       ``runtime``: ``MlRuntime``, one entry's ingest, labels, pipeline and schedule;
              ``pipeline``: the stages in order, run in the executor
store / db    ``store``: every read and write of the ML tables; ``ingest``: state changes into
              ``raw_events`` through the batching writer; ``label_source``: labels from the
              ``input_datetime`` helpers into ``labels``; ``retention``: old rows deleted;
              ``contracts``: the contract views, pinned column by column; ``history``: the
              recorder's history imported into ``raw_events``; ``suggestions``: hand-entered
              labels and confirmed suggested nights stored as labels
sensors       ``sensors``: the ML entities, declared as data; ``status``: what they show
services      ``services``: ``run_pipeline``, ``import_history``, ``confirm_night``
options       ``options``: keys, defaults, the settings the runtime reads and the form
pure core     ``features`` (window features), ``labels`` (label normalisation), ``pairing``
              (design matrix, splits), ``clr`` (calibrated logistic regression), ``bocpd``
              (changepoint detection), ``changepoints`` (routine changes), ``episodes`` (bedtime
              and wake time), ``nights`` (suggested nights, without labels), ``training`` (fit and
              inference), ``metrics`` (held-out scores)
"""
