-- System policies: global (account_id ''), read-only, version v1.
-- Documents follow Alibaba RAM's system policies of the same names (spec §4.9).
-- Same SQL for PostgreSQL and SQLite.
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-administratoraccess', 'AdministratorAccess', 'administratoraccess', 'System', 'Full access to every resource of the account.', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-administratoraccess', 1, '{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-readonlyaccess', 'ReadOnlyAccess', 'readonlyaccess', 'System', 'Read-only access to every resource of the account.', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-readonlyaccess', 1, '{"Statement":[{"Action":["*:Get*","*:List*","*:Describe*","*:Query*","*:BatchGet*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunstsassumeroleaccess', 'AliyunSTSAssumeRoleAccess', 'aliyunstsassumeroleaccess', 'System', 'Permission to call the AssumeRole operation of STS.', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunstsassumeroleaccess', 1, '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunramfullaccess', 'AliyunRAMFullAccess', 'aliyunramfullaccess', 'System', 'Full access to Resource Access Management (RAM): users, groups, roles, policies.', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunramfullaccess', 1, '{"Statement":[{"Action":"ram:*","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunramreadonlyaccess', 'AliyunRAMReadOnlyAccess', 'aliyunramreadonlyaccess', 'System', 'Read-only access to Resource Access Management (RAM).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunramreadonlyaccess', 1, '{"Statement":[{"Action":["ram:Get*","ram:List*","ram:GenerateCredentialReport"],"Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunossfullaccess', 'AliyunOSSFullAccess', 'aliyunossfullaccess', 'System', 'Full access to Object Storage Service (OSS).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunossfullaccess', 1, '{"Statement":[{"Action":"oss:*","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunossreadonlyaccess', 'AliyunOSSReadOnlyAccess', 'aliyunossreadonlyaccess', 'System', 'Read-only access to Object Storage Service (OSS).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunossreadonlyaccess', 1, '{"Statement":[{"Action":["oss:Get*","oss:List*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunecsfullaccess', 'AliyunECSFullAccess', 'aliyunecsfullaccess', 'System', 'Full access to Elastic Compute Service (ECS).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunecsfullaccess', 1, '{"Statement":[{"Action":"ecs:*","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunecsreadonlyaccess', 'AliyunECSReadOnlyAccess', 'aliyunecsreadonlyaccess', 'System', 'Read-only access to Elastic Compute Service (ECS).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunecsreadonlyaccess', 1, '{"Statement":[{"Action":["ecs:Describe*","ecs:List*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-aliyunstsfullaccess', 'AliyunSTSFullAccess', 'aliyunstsfullaccess', 'System', 'Full access to Security Token Service (STS).', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-aliyunstsfullaccess', 1, '{"Statement":[{"Action":"sts:*","Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at)
    VALUES ('', 'system-tesseraauthorizeaccess', 'TesseraAuthorizeAccess', 'tesseraauthorizeaccess', 'System', 'Permission to ask Tessera''s Authorize about other principals of the account.', 1, 2, 0, 0);
INSERT INTO policy_versions (account_id, policy_id, version, document, created_at)
    VALUES ('', 'system-tesseraauthorizeaccess', 1, '{"Statement":[{"Action":["tessera:Authorize","tessera:BatchAuthorize","tessera:SimulatePrincipalPolicy"],"Effect":"Allow","Resource":"*"}],"Version":"1"}', 0);
