//! Scale benchmark: the store's share of a cold `Authorize` (load a user's principal, parse and
//! compile its policies, decide) on PostgreSQL holding 10,000 accounts and 1,000,000 users.
//!
//! ```sh
//! TESSERA_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_bench \
//!     cargo bench -p tessera-store --bench scale
//! ```
//! The database is created and seeded on first use (bulk SQL, a minute or two) and reused after.
//! Prints one JSON object per scenario: operations, p50/p99/p999 in microseconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;
use rand::Rng;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use tessera_policy::{Context, Limits, PolicyKind, PolicyLabel, PolicySet, Request};
use tessera_store::{AccountId, RoleStore, SqlStore, StoreConfig, UserStore};

const ACCOUNTS: i64 = 10_000;
const USERS_PER_ACCOUNT: i64 = 100;
const ROLES_PER_ACCOUNT: i64 = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("TESSERA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/tessera_bench".to_owned());
    ensure_database(&url).await;
    let mut config = StoreConfig::new(url.clone());
    config.max_connections = 16;
    let store = Arc::new(SqlStore::connect(&config).await.unwrap());
    store.migrate().await.unwrap();
    seed(&url).await;

    for (name, concurrency, ops) in [
        ("user-cold-sequential", 1, 4000),
        ("user-cold-concurrent-8", 8, 8000),
    ] {
        let (hist, load) = run(&store, concurrency, ops, Principal::User).await;
        report(name, &hist);
        report(&format!("{name}/store-only"), &load);
    }
    let (hist, load) = run(&store, 8, 8000, Principal::Role).await;
    report("role-cold-concurrent-8", &hist);
    report("role-cold-concurrent-8/store-only", &load);
}

#[derive(Clone, Copy)]
enum Principal {
    User,
    Role,
}

/// Runs `ops` cold decisions; returns the histograms of the whole decision and of the store
/// call alone.
async fn run(
    store: &Arc<SqlStore>,
    concurrency: usize,
    ops: usize,
    kind: Principal,
) -> (Histogram<u64>, Histogram<u64>) {
    let per_task = ops / concurrency;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).unwrap();
            let mut load_hist = Histogram::<u64>::new(3).unwrap();
            let context = Context::new()
                .with("acs:SourceIp", "10.1.2.3")
                .with("acs:CurrentTime", "2026-06-01T12:00:00Z");
            for _ in 0..per_task {
                let (a, n) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_range(1..=ACCOUNTS),
                        rng.random_range(1..=USERS_PER_ACCOUNT),
                    )
                };
                let account = AccountId::parse(&(1_000_000_000_000_000 + a).to_string()).unwrap();
                let start = Instant::now();
                let documents = match kind {
                    Principal::User => {
                        let (p, _) = store
                            .load_user_principal(&account, &format!("user-{n}"))
                            .await
                            .unwrap();
                        p.policies
                    }
                    Principal::Role => {
                        let r = (n % ROLES_PER_ACCOUNT) + 1;
                        let (p, _) = store
                            .load_role_principal(&account, &format!("role-{r}"))
                            .await
                            .unwrap();
                        p.policies
                    }
                };
                load_hist
                    .record(start.elapsed().as_micros() as u64)
                    .unwrap();
                let parsed: Vec<_> = documents
                    .iter()
                    .map(|d| {
                        let p = tessera_policy::parse(
                            &d.document,
                            PolicyKind::Identity,
                            &Limits::default(),
                        )
                        .unwrap();
                        (
                            PolicyLabel::new(d.name.clone()).with_version(d.version_id.clone()),
                            p.policy,
                        )
                    })
                    .collect();
                let set = PolicySet::new(parsed.iter().map(|(l, p)| (l.clone(), p)));
                let resource = format!("acs:oss:*:{}:bucket-{}/key", account, n % 5);
                let decision = set.decide(&Request::new("oss:GetObject", &resource, &context));
                std::hint::black_box(decision);
                hist.record(start.elapsed().as_micros() as u64).unwrap();
            }
            (hist, load_hist)
        }));
    }
    let mut total = Histogram::<u64>::new(3).unwrap();
    let mut load = Histogram::<u64>::new(3).unwrap();
    for t in tasks {
        let (h, l) = t.await.unwrap();
        total.add(h).unwrap();
        load.add(l).unwrap();
    }
    (total, load)
}

fn report(name: &str, hist: &Histogram<u64>) {
    println!(
        "{{\"scenario\": \"{name}\", \"ops\": {}, \"p50_us\": {}, \"p99_us\": {}, \"p999_us\": {}, \"max_us\": {}}}",
        hist.len(),
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max()
    );
}

async fn ensure_database(url: &str) {
    let options = PgConnectOptions::from_str(url).unwrap();
    let name = options.get_database().unwrap_or("tessera_bench").to_owned();
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .unwrap();
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    if exists.is_none() {
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
    }
    admin.close().await.unwrap();
}

/// Bulk-seeds the data set unless it is already there.
async fn seed(url: &str) {
    let mut conn = PgConnectOptions::from_str(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    if row.0 >= ACCOUNTS {
        eprintln!("scale: reusing the seeded data set ({} accounts)", row.0);
        return;
    }
    eprintln!(
        "scale: seeding {ACCOUNTS} accounts, {} users …",
        ACCOUNTS * USERS_PER_ACCOUNT
    );
    let started = Instant::now();
    let document = r#"{"Version":"1","Statement":[
        {"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"acs:oss:*:*:bucket-%P/*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
        {"Effect":"Allow","Action":"ecs:Describe*","Resource":"acs:ecs:*:*:instance/*"},
        {"Effect":"Allow","Action":["rds:DescribeDBInstances","rds:DescribeDatabases"],"Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}},
        {"Effect":"Deny","Action":"oss:DeleteBucket","Resource":"*"},
        {"Effect":"Allow","Action":"log:*","Resource":"acs:log:*:*:project/p-%P/*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}"#;
    let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1000000000000001:root"}}]}"#;
    let statements = [
        format!(
            "INSERT INTO accounts (id, name, alias, status, created_at, updated_at) \
             SELECT (1000000000000000 + a)::text, 'account-' || a, NULL, 'Active', 0, 0 \
             FROM generate_series(1, {ACCOUNTS}) a"
        ),
        format!(
            "INSERT INTO users (account_id, id, name, name_key, display_name, email, mobile_phone, comments, created_at, updated_at, last_login_at) \
             SELECT (1000000000000000 + a)::text, (2000000000000000 + a * 1000 + u)::text, 'user-' || u, 'user-' || u, 'User ' || u, '', '', '', 0, 0, NULL \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {USERS_PER_ACCOUNT}) u"
        ),
        format!(
            "INSERT INTO groups (account_id, id, name, name_key, comments, created_at, updated_at) \
             SELECT (1000000000000000 + a)::text, (3000000000000000 + a * 100 + g)::text, 'group-' || g, 'group-' || g, '', 0, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(0, 19) g"
        ),
        format!(
            "INSERT INTO group_members (account_id, group_id, user_id, joined_at) \
             SELECT (1000000000000000 + a)::text, (3000000000000000 + a * 100 + g)::text, (2000000000000000 + a * 1000 + u)::text, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {USERS_PER_ACCOUNT}) u, \
                  LATERAL (VALUES (u % 20), ((u + 10) % 20)) AS m(g)"
        ),
        format!(
            "INSERT INTO policies (account_id, id, name, name_key, policy_type, description, default_version, next_version, created_at, updated_at) \
             SELECT (1000000000000000 + a)::text, (4000000000000000 + a * 10 + p)::text, 'policy-' || p, 'policy-' || p, 'Custom', '', 1, 2, 0, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(0, 4) p"
        ),
        format!(
            "INSERT INTO policy_versions (account_id, policy_id, version, document, created_at) \
             SELECT (1000000000000000 + a)::text, (4000000000000000 + a * 10 + p)::text, 1, replace($doc${document}$doc$, '%P', p::text), 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(0, 4) p"
        ),
        format!(
            "INSERT INTO roles (account_id, id, name, name_key, description, trust_policy, max_session_duration, created_at, updated_at, sessions_revoked_before) \
             SELECT (1000000000000000 + a)::text, (5000000000000000 + a * 100 + r)::text, 'role-' || r, 'role-' || r, '', $doc${trust}$doc$, 3600, 0, 0, NULL \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {ROLES_PER_ACCOUNT}) r"
        ),
        // Each group: one custom policy and one system policy.
        format!(
            "INSERT INTO attachments (account_id, target_kind, target_id, policy_account, policy_id, attached_at) \
             SELECT (1000000000000000 + a)::text, 'group', (3000000000000000 + a * 100 + g)::text, (1000000000000000 + a)::text, (4000000000000000 + a * 10 + g % 5)::text, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(0, 19) g"
        ),
        format!(
            "INSERT INTO attachments (account_id, target_kind, target_id, policy_account, policy_id, attached_at) \
             SELECT (1000000000000000 + a)::text, 'group', (3000000000000000 + a * 100 + g)::text, '', \
                    CASE WHEN g % 2 = 0 THEN 'system-aliyunossreadonlyaccess' ELSE 'system-aliyunecsreadonlyaccess' END, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(0, 19) g"
        ),
        // Each user: one custom policy of its own.
        format!(
            "INSERT INTO attachments (account_id, target_kind, target_id, policy_account, policy_id, attached_at) \
             SELECT (1000000000000000 + a)::text, 'user', (2000000000000000 + a * 1000 + u)::text, (1000000000000000 + a)::text, (4000000000000000 + a * 10 + u % 5)::text, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {USERS_PER_ACCOUNT}) u"
        ),
        // Each role: two custom policies.
        format!(
            "INSERT INTO attachments (account_id, target_kind, target_id, policy_account, policy_id, attached_at) \
             SELECT (1000000000000000 + a)::text, 'role', (5000000000000000 + a * 100 + r)::text, (1000000000000000 + a)::text, (4000000000000000 + a * 10 + (r + k) % 5)::text, 0 \
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {ROLES_PER_ACCOUNT}) r, generate_series(0, 1) k"
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in statements {
        conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    eprintln!("scale: seeded in {:.1?}", started.elapsed());
}
