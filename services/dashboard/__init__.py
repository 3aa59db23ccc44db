"""Dashboard: one web page an operator keeps open, served on loopback (docs/dashboard.md).

Consumes, read-only like any late joiner: every publisher's events, status, alerts and
heartbeats (subscribe first, then the snapshot, again after a gap or a new incarnation),
supervisord's process list (its unix socket) and each service's Prometheus endpoint.
Produces: the view (GET /api/state) and its changes as deltas on a websocket (GET /ws),
the reports on disk, and, only when an operator acts with the token (DASHBOARD_TOKEN),
the commands of scripts/halt and scripts/resume, cancel-all and flatten.
"""
