-- A case store written by reclaim's schema-1 code (main before issue 14): see tests/store/test_upgrade.py
BEGIN TRANSACTION;
CREATE TABLE cases (
	id VARCHAR(32) NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	subject VARCHAR(320) NOT NULL, 
	subject_key VARCHAR(320) NOT NULL, 
	tenant VARCHAR(256), 
	verdict VARCHAR(16), 
	since VARCHAR(27), 
	until VARCHAR(27), 
	status VARCHAR(16) NOT NULL, 
	operator VARCHAR(256), 
	summary JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "cases" VALUES('c-20261127-0001','2026-11-27T07:00:00.000000Z','2026-12-03T21:16:03.981830Z','investigate','alice@contoso.com','alice@contoso.com','contoso.com','compromised',NULL,NULL,'complete',NULL,'{"verdict": "compromised", "because": "forwarding"}');
INSERT INTO "cases" VALUES('c-20261127-0002','2026-11-27T07:00:00.000000Z','2026-11-27T07:00:00.000000Z','sweep','contoso.com','contoso.com','contoso.com',NULL,NULL,NULL,'open',NULL,'{}');
CREATE TABLE evidence (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	source VARCHAR(32) NOT NULL, 
	request JSON NOT NULL, 
	collected_at VARCHAR(27) NOT NULL, 
	stored_at VARCHAR(27) NOT NULL, 
	content_type VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	payload BLOB NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES cases (id)
);
INSERT INTO "evidence" VALUES(1,'c-20261127-0001','inboxRules','graph','{"method": "GET", "url": "/users/alice/mailFolders/inbox/messageRules"}','2026-11-27T07:00:00.000000Z','2026-12-03T21:16:03.946657Z','application/octet-stream',43,'6c3d13ab8617fde2728c20b8bd043737dcdd2449292df7aed1a7e05a543db082',X'7B2276616C7565223A5B7B226964223A227231222C22646973706C61794E616D65223A222E2E2E227D5D7D');
INSERT INTO "evidence" VALUES(2,'c-20261127-0001','snapshot:block-sign-in','graph','{"method": "GET", "url": "/users/alice"}','2026-11-27T07:00:00.000000Z','2026-12-03T21:16:03.985145Z','application/json',23,'20b3f90feb2e8421d7902d2fa6684e619770855a8024e4d656cd898672b0706e',X'7B226163636F756E74456E61626C6564223A747275657D');
CREATE TABLE findings (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	check_id VARCHAR(64) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	severity_rank INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	title TEXT NOT NULL, 
	detail TEXT, 
	artifact_type VARCHAR(64), 
	artifact_id VARCHAR(512), 
	evidence JSON NOT NULL, 
	evidence_ids JSON NOT NULL, 
	user VARCHAR(320), 
	recorded_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES cases (id)
);
INSERT INTO "findings" VALUES(1,'c-20261127-0001','rule-external-forward','high',3,'compromise','forwards outside',NULL,'inboxRule','r1','{}','[1]','alice@contoso.com','2026-12-03T21:16:03.966318Z');
INSERT INTO "findings" VALUES(2,'c-20261127-0001','mfa-not-required','high',3,'prevention','MFA is not required',NULL,'user','u1','{}','[]','alice@contoso.com','2026-12-03T21:16:03.966318Z');
CREATE TABLE journal (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	seq INTEGER NOT NULL, 
	action_id VARCHAR(64) NOT NULL, 
	target VARCHAR(512) NOT NULL, 
	step VARCHAR(16) NOT NULL, 
	before_evidence_id INTEGER, 
	before_evidence_sha256 VARCHAR(64), 
	request JSON, 
	result JSON, 
	verify JSON, 
	operator VARCHAR(256), 
	started_at VARCHAR(27), 
	recorded_at VARCHAR(27) NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	entry_hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_journal_case_seq UNIQUE (case_id, seq), 
	FOREIGN KEY(case_id) REFERENCES cases (id), 
	FOREIGN KEY(before_evidence_id) REFERENCES evidence (id)
);
INSERT INTO "journal" VALUES(1,'c-20261127-0001',1,'block-sign-in','alice@contoso.com','planned',NULL,NULL,'{"method": "PATCH", "body": {"accountEnabled": false}}','null','null',NULL,'2026-11-27T07:00:00.000000Z','2026-12-03T21:16:03.993101Z','0000000000000000000000000000000000000000000000000000000000000000','dba4c7fc0a365b43984ca34c278a87c6c352be3f9ac897a1183f9653b8f54165');
INSERT INTO "journal" VALUES(2,'c-20261127-0001',2,'block-sign-in','alice@contoso.com','snapshot',2,'20b3f90feb2e8421d7902d2fa6684e619770855a8024e4d656cd898672b0706e','{"method": "PATCH", "body": {"accountEnabled": false}}','null','null',NULL,'2026-11-27T07:00:00.000000Z','2026-12-03T21:16:04.002688Z','dba4c7fc0a365b43984ca34c278a87c6c352be3f9ac897a1183f9653b8f54165','66996b79af0342e02325f222f3c36b8aba6733442f813a17956c8a5c6b1e9fe0');
INSERT INTO "journal" VALUES(3,'c-20261127-0001',3,'block-sign-in','alice@contoso.com','applying',2,'20b3f90feb2e8421d7902d2fa6684e619770855a8024e4d656cd898672b0706e','{"method": "PATCH", "body": {"accountEnabled": false}}','null','null',NULL,'2026-11-27T07:00:00.000000Z','2026-12-03T21:16:04.007762Z','66996b79af0342e02325f222f3c36b8aba6733442f813a17956c8a5c6b1e9fe0','7972f4e660d68a6bf478f6fe8d6cf1ee51c6c9a85ce58280bd9457f3734d1799');
INSERT INTO "journal" VALUES(4,'c-20261127-0001',4,'block-sign-in','alice@contoso.com','applied',2,'20b3f90feb2e8421d7902d2fa6684e619770855a8024e4d656cd898672b0706e','{"method": "PATCH", "body": {"accountEnabled": false}}','null','null',NULL,'2026-11-27T07:00:00.000000Z','2026-12-03T21:16:04.012884Z','7972f4e660d68a6bf478f6fe8d6cf1ee51c6c9a85ce58280bd9457f3734d1799','e05fccae09e52ab4ac679aff05541b3c153c6f4e814911cb40e4639ecb0f2a82');
INSERT INTO "journal" VALUES(5,'c-20261127-0001',5,'block-sign-in','alice@contoso.com','verified',2,'20b3f90feb2e8421d7902d2fa6684e619770855a8024e4d656cd898672b0706e','{"method": "PATCH", "body": {"accountEnabled": false}}','null','null',NULL,'2026-11-27T07:00:00.000000Z','2026-12-03T21:16:04.017966Z','e05fccae09e52ab4ac679aff05541b3c153c6f4e814911cb40e4639ecb0f2a82','88a8aaf07c5c76a46519286e00bb2c5e13b3774f8eea0a3df56a32a8cdbb8e56');
CREATE TABLE not_collected (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	reason VARCHAR(64) NOT NULL, 
	detail TEXT, 
	subject VARCHAR(320), 
	recorded_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES cases (id)
);
INSERT INTO "not_collected" VALUES(1,'c-20261127-0001','messageTrace','missing_permission','needs ReportingWebService.Read.All',NULL,'2026-12-03T21:16:03.976500Z');
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-03T21:16:03.916428Z');
CREATE TABLE sweep_checkpoints (
	case_id VARCHAR(32) NOT NULL, 
	tenant VARCHAR(256) NOT NULL, 
	cursor TEXT, 
	mailboxes_done INTEGER NOT NULL, 
	results_pointer TEXT, 
	state JSON NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (case_id, tenant), 
	FOREIGN KEY(case_id) REFERENCES cases (id)
);
INSERT INTO "sweep_checkpoints" VALUES('c-20261127-0002','contoso.com','3',3,NULL,'{}','2026-12-03T21:16:04.029476Z');
CREATE TABLE timeline (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	time VARCHAR(27) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	summary TEXT NOT NULL, 
	artifact_type VARCHAR(64), 
	artifact_id VARCHAR(512), 
	source VARCHAR(64), 
	evidence_id INTEGER, 
	user VARCHAR(320), 
	PRIMARY KEY (id), 
	FOREIGN KEY(case_id) REFERENCES cases (id), 
	FOREIGN KEY(evidence_id) REFERENCES evidence (id)
);
INSERT INTO "timeline" VALUES(1,'c-20261127-0001','2026-11-27T07:00:00.000000Z','rule-created','rule ''...'' created',NULL,NULL,'audit',NULL,NULL);
CREATE INDEX ix_cases_created_at ON cases (created_at);
CREATE INDEX ix_cases_subject_kind ON cases (subject_key, kind, created_at);
CREATE INDEX ix_evidence_case_id ON evidence (case_id);
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence BEGIN SELECT RAISE(ABORT, 'evidence is insert-only'); END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence BEGIN SELECT RAISE(ABORT, 'evidence is insert-only'); END;
CREATE INDEX ix_not_collected_case_id ON not_collected (case_id);
CREATE INDEX ix_findings_case_id ON findings (case_id);
CREATE INDEX ix_timeline_case_id ON timeline (case_id);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'journal is insert-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'journal is insert-only'); END;
COMMIT;
