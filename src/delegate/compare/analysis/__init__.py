"""The report's arithmetic, as pure functions on per-problem outcomes and costs: no store, no
files, no model calls, so each is tested on hand-made numbers.

``arrays`` checks the inputs; ``curves`` traces routing and cascade curves; ``summaries`` reduces
a curve to APGR, CPT and AIQ (and keeps a point set's frontier); ``intervals`` holds Wilson's
interval, McNemar's test and Newcombe's paired interval; ``baselines`` the one random mix, the one
oracle and the bootstrap test of a run against the cost-matched mix; ``learned`` the
cross-fitted pre-generation routers.
"""
