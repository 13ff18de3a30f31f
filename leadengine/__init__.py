"""LeadEngine's core: what the enqueue function and the runner share (settings, schemas, topology, store)."""
