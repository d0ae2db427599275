-- Case life: alerts for the supervisors of a district (child protection at intake,
-- closures by a worker to review, withdrawn data-processing consent), who marked a
-- follow-up done, and indexes for the caseload lists and the retention job.

-- Codes only: an alert names its client by id and a coded kind, never content.
CREATE TABLE case_alerts (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    raised_by       TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT REFERENCES users (id)
);
CREATE INDEX case_alerts_client ON case_alerts (client_id);
CREATE INDEX case_alerts_open ON case_alerts (acknowledged_at, raised_at);

ALTER TABLE support_logs ADD COLUMN follow_up_done_at TEXT;
ALTER TABLE support_logs ADD COLUMN follow_up_done_by TEXT REFERENCES users (id);

CREATE INDEX clients_assigned_worker ON clients (assigned_worker);
CREATE INDEX clients_status_closed ON clients (status, closed_on);
CREATE INDEX client_volunteers_user ON client_volunteers (user_id);
CREATE INDEX support_logs_follow_up ON support_logs (needs_follow_up, follow_up_done);
