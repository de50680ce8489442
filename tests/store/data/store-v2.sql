-- A case store written by reclaim's schema-2 code (main at 9ed797b, before Alembic and the case seal): an
-- investigation (evidence, findings, timeline, not-collected, verdict, 5-entry journal) and a sweep with a checkpoint.
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
INSERT INTO "cases" VALUES('c-20261201-0001','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.340039Z','investigate','alice@contoso.com','alice@contoso.com','contoso.com','compromised','2026-11-01T09:00:00.000000Z','2026-12-01T09:00:00.000000Z','open','admin@contoso.com','{"users": 1, "findings": 2}');
INSERT INTO "cases" VALUES('c-20261201-0002','2026-12-01T10:00:00.000000Z','2026-12-01T10:00:00.000000Z','sweep','contoso.com','contoso.com','contoso.com',NULL,NULL,NULL,'open',NULL,'{}');
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
INSERT INTO "evidence" VALUES(1,'c-20261201-0001','inboxRules','graph','{"method": "GET", "url": "https://graph.microsoft.com/v1.0/users/alice@contoso.com/mailFolders/inbox/messageRules"}','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.311927Z','application/json',113,'1a9de15ec6bb291696ce860fa406e6f34d7e98749204395d25985f665368de72',X'7B2276616C7565223A5B7B22616374696F6E73223A7B22666F7277617264546F223A5B7B22656D61696C41646472657373223A7B2261646472657373223A2278406576696C2E6578616D706C65227D7D5D7D2C22646973706C61794E616D65223A222E222C226964223A227231227D5D7D');
INSERT INTO "evidence" VALUES(2,'c-20261201-0001','signIns','graph','{"method": "GET", "url": "/auditLogs/signIns?page=0"}','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.324457Z','application/json',23,'bed6e4ac9273052931ea4b0479b9de50b536a3a7f0ee5ba713ff9ee4f1b1c201',X'7B2276616C7565223A5B7B226964223A227330227D5D7D');
INSERT INTO "evidence" VALUES(3,'c-20261201-0001','signIns','graph','{"method": "GET", "url": "/auditLogs/signIns?page=1"}','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.324457Z','application/json',23,'9d15e7040a533828ba0d2af4754efcedfc3a8caa2df6863cb832cbe69223f072',X'7B2276616C7565223A5B7B226964223A227331227D5D7D');
INSERT INTO "evidence" VALUES(4,'c-20261201-0001','signIns','graph','{"method": "GET", "url": "/auditLogs/signIns?page=2"}','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.324457Z','application/json',23,'850245162ac4504c49d1e23d72b8c6e9b35fd01d2a510ec4d33165b9e3509472',X'7B2276616C7565223A5B7B226964223A227332227D5D7D');
INSERT INTO "evidence" VALUES(5,'c-20261201-0001','snapshot','graph','{"method": "GET", "url": "/rules/r1"}','2026-12-01T09:00:00.000000Z','2026-12-04T15:04:27.341977Z','application/json',28,'133756c87d09ffd853cd652c9b61e507ee0b7cba3b16537f8e813b0560c03ebf',X'7B226964223A227231222C226973456E61626C6564223A747275657D');
CREATE TABLE findings (
	id INTEGER NOT NULL, 
	case_id VARCHAR(32) NOT NULL, 
	check_id VARCHAR(64) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	severity_rank INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	scope VARCHAR(16) DEFAULT 'user' NOT NULL, 
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
INSERT INTO "findings" VALUES(1,'c-20261201-0001','rule-external-forward','high',3,'compromise','mailbox','Inbox rule forwards mail outside',NULL,'inboxRule','r1','{"rule": "r1"}','[1]','alice@contoso.com','2026-12-04T15:04:27.329588Z');
INSERT INTO "findings" VALUES(2,'c-20261201-0001','mfa-not-required','medium',2,'exposure','user','MFA not required',NULL,NULL,NULL,'{}','[]',NULL,'2026-12-04T15:04:27.329588Z');
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
INSERT INTO "journal" VALUES(1,'c-20261201-0001',1,'disable-inbox-rule','r1','planned',NULL,NULL,'null','null','null','admin@contoso.com',NULL,'2026-12-04T15:04:27.346577Z','0000000000000000000000000000000000000000000000000000000000000000','87c1fbdf77507b78af466de2991a98780dbd859b335225bb58b69a1c8b42b27b');
INSERT INTO "journal" VALUES(2,'c-20261201-0001',2,'disable-inbox-rule','r1','snapshot',5,'133756c87d09ffd853cd652c9b61e507ee0b7cba3b16537f8e813b0560c03ebf','null','null','null','admin@contoso.com',NULL,'2026-12-04T15:04:27.352542Z','87c1fbdf77507b78af466de2991a98780dbd859b335225bb58b69a1c8b42b27b','1ebfd6c9f45c953042a8ab95e3ccec54147356a5424fdb5bdb216ff68750e4f0');
INSERT INTO "journal" VALUES(3,'c-20261201-0001',3,'disable-inbox-rule','r1','applying',NULL,NULL,'{"isEnabled": false}','null','null','admin@contoso.com',NULL,'2026-12-04T15:04:27.355482Z','1ebfd6c9f45c953042a8ab95e3ccec54147356a5424fdb5bdb216ff68750e4f0','40e14f313e55213c6085cf2df5f1475621f715d3b825f7f31b50654b9c93fddd');
INSERT INTO "journal" VALUES(4,'c-20261201-0001',4,'disable-inbox-rule','r1','applied',NULL,NULL,'null','{"status": 200}','null','admin@contoso.com',NULL,'2026-12-04T15:04:27.358546Z','40e14f313e55213c6085cf2df5f1475621f715d3b825f7f31b50654b9c93fddd','9d1c3b9f47c48f8f52fe255f9aed571c1835cd8b2858de687f62e75b80023d59');
INSERT INTO "journal" VALUES(5,'c-20261201-0001',5,'disable-inbox-rule','r1','verified',NULL,NULL,'null','null','{"isEnabled": false}','admin@contoso.com',NULL,'2026-12-04T15:04:27.361039Z','9d1c3b9f47c48f8f52fe255f9aed571c1835cd8b2858de687f62e75b80023d59','cde4fa271e625ca99140c7ca337484eb11c655a04d34434286c7d206b960731e');
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
INSERT INTO "not_collected" VALUES(1,'c-20261201-0001','mailboxAudit','throttled','429 after 3 retries','alice@contoso.com','2026-12-04T15:04:27.337040Z');
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(2,'2026-12-04T15:04:27.294141Z');
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
INSERT INTO "sweep_checkpoints" VALUES('c-20261201-0002','contoso.com','page-2',40,NULL,'{"flagged": ["bob@contoso.com"]}','2026-12-04T15:04:27.367294Z');
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
INSERT INTO "timeline" VALUES(1,'c-20261201-0001','2026-12-01T07:00:00.000000Z','signIn','sign-in from 203.0.113.7',NULL,NULL,'signIns',2,NULL);
INSERT INTO "timeline" VALUES(2,'c-20261201-0001','2026-12-01T08:00:00.000000Z','ruleCreated','rule r1 created','inboxRule','r1',NULL,1,NULL);
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
