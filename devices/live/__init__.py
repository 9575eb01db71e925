"""The live twin in Redis: values by id (:mod:`.store`), encodings (:mod:`.codecs`), pub/sub
channels (:mod:`.channels`), the farm's bookkeeping (:mod:`.ticks`) and the in-process
pub/sub hub (:mod:`.pubsub`). Key names stay in :mod:`.keys`, which only this package imports.
See docs/architecture.md, "Live state".
"""
