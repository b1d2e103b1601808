"""Background work whose source of truth is the database (the transactional outbox).

Work that must happen after a commit (Whisper, officer e-mails, exports) is
written as a Job row in the same transaction as the change that needs it, then
handed to RQ once the transaction commits. Redis is only the transport: if it is
down or loses everything, the sweeper that every worker runs finds the rows that
have no live RQ job and enqueues them again, under deterministic job ids. The
runner takes each row exclusively, so a row handed to RQ twice still runs once.
"""
