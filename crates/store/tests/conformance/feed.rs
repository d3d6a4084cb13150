//! The change feed: delivery across handles, order and completeness under concurrent writers,
//! backlog replay, `wait_for` (read-your-writes), revisions without changes, polling alone.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sqlx::Connection;
use tessera_store::{
    AccountStore, Backend, Change, ChangeFeed, EntityKind, Error, FeedOptions, FeedWaitError,
    GroupStore, NewUser, Revision, SqlStore, StoreConfig, SystemStore, UserStore,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::account;

conformance!(
    feed_delivers_a_write_from_another_handle,
    feed_wakes_up_without_waiting_for_a_poll,
    feed_delivers_concurrent_writes_in_order_exactly_once,
    feed_replays_the_backlog_first,
    feed_wait_for_returns_waits_and_times_out,
    feed_advances_past_revisions_without_changes,
    feed_polling_alone_delivers
);

/// A second `SqlStore` on the same database: what another replica has.
async fn other_handle(store: &SqlStore) -> SqlStore {
    let mut config = StoreConfig::new(store.url());
    config.max_connections = 4;
    SqlStore::connect(&config).await.unwrap()
}

/// The next batch, or a panic after `within`.
async fn next_within(feed: &mut ChangeFeed, within: Duration) -> Vec<Change> {
    tokio::time::timeout(within, feed.next())
        .await
        .unwrap_or_else(|_| panic!("no change delivered within {within:?}"))
        .expect("the feed stopped")
}

/// Batches until one reaches `revision`, in delivery order.
async fn collect_through(feed: &mut ChangeFeed, revision: Revision) -> Vec<Vec<Change>> {
    let mut batches = Vec::new();
    while batches
        .last()
        .and_then(|b: &Vec<Change>| b.last())
        .is_none_or(|c| c.revision < revision)
    {
        batches.push(next_within(feed, Duration::from_secs(10)).await);
    }
    batches
}

/// Runs the feed's consumer loop in a task, forwarding batches.
fn consume(mut feed: ChangeFeed) -> (JoinHandle<()>, mpsc::UnboundedReceiver<Vec<Change>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(batch) = feed.next().await {
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    (task, rx)
}

fn user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        ..Default::default()
    }
}

async fn feed_delivers_a_write_from_another_handle(store: &SqlStore) {
    let replica = other_handle(store).await;
    let start = replica.current_revision().await.unwrap();
    let mut feed = replica.change_feed(start, FeedOptions::default());
    assert_eq!(feed.latest(), start);

    let created = store.create_account("elsewhere").await.unwrap();
    let batch = next_within(&mut feed, Duration::from_secs(10)).await;
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].revision, created.revision);
    assert_eq!(batch[0].kind, EntityKind::Account);
    assert_eq!(batch[0].entity, created.value.id.as_str());
    drop(feed);
    replica.close().await;
}

/// With a poll interval far beyond the test, only wake-ups can deliver: on PostgreSQL
/// `NOTIFY` from another handle, on SQLite the in-process signal of the same handle.
async fn feed_wakes_up_without_waiting_for_a_poll(store: &SqlStore) {
    let writer = match store.backend() {
        Backend::Postgres => other_handle(store).await,
        Backend::Sqlite => store.clone(),
    };
    let options = FeedOptions {
        poll_interval: Duration::from_secs(600),
        ..FeedOptions::default()
    };
    let start = store.current_revision().await.unwrap();
    let mut feed = store.change_feed(start, options);
    for name in ["first", "second"] {
        let created = writer.create_account(name).await.unwrap();
        let batch = next_within(&mut feed, Duration::from_secs(10)).await;
        assert_eq!(
            batch.iter().map(|c| c.revision).collect::<Vec<_>>(),
            vec![created.revision]
        );
    }
    drop(feed);
    if store.backend() == Backend::Postgres {
        writer.close().await;
    }
}

async fn feed_delivers_concurrent_writes_in_order_exactly_once(store: &SqlStore) {
    let a = account(store).await;
    store.create_group(&a, "dev", None).await.unwrap();
    let start = store.current_revision().await.unwrap();
    let replica = other_handle(store).await;
    // A small batch, so catching up takes several reads.
    let options = FeedOptions {
        batch: 7,
        ..FeedOptions::default()
    };
    let mut feed = replica.change_feed(start, options);

    // 50 writes from 4 tasks: users (one change each) and group joins (two changes each).
    let writers: Vec<_> = [14, 12, 12, 12]
        .into_iter()
        .enumerate()
        .map(|(t, n)| {
            let store = store.clone();
            let a = a.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..n {
                    let committed = if i % 2 == 0 {
                        store
                            .create_user(&a, &user(&format!("u{t}-{i}")))
                            .await
                            .unwrap()
                            .revision
                    } else {
                        store
                            .add_user_to_group(&a, "dev", &format!("u{t}-{}", i - 1))
                            .await
                            .unwrap()
                            .revision
                    };
                    revisions.push(committed);
                }
                revisions
            })
        })
        .collect();
    let mut committed = BTreeSet::new();
    for writer in writers {
        committed.extend(writer.await.unwrap());
    }
    assert_eq!(committed.len(), 50);
    let last = *committed.last().unwrap();

    let batches = collect_through(&mut feed, last).await;
    let delivered: Vec<Change> = batches.iter().flatten().cloned().collect();
    // Ascending, each change once: exactly the log after `start`.
    assert!(
        delivered.windows(2).all(|w| w[0].revision <= w[1].revision),
        "out of order"
    );
    assert_eq!(delivered, store.changes_since(start, 10_000).await.unwrap());
    assert_eq!(delivered.len(), 75);
    // Every committed revision, and only those.
    let revisions: BTreeSet<Revision> = delivered.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, committed);
    // No batch splits a revision.
    for pair in batches.windows(2) {
        assert!(pair[0].last().unwrap().revision < pair[1][0].revision);
    }
    // Nothing more: the next batch only comes with the next write.
    assert!(
        tokio::time::timeout(Duration::from_millis(700), feed.next())
            .await
            .is_err()
    );
    assert_eq!(
        feed.wait_for(last, Duration::from_secs(1)).await.unwrap(),
        last
    );
    drop(feed);
    replica.close().await;
}

async fn feed_replays_the_backlog_first(store: &SqlStore) {
    let a = account(store).await;
    let start = store.current_revision().await.unwrap();
    let mut backlog = Vec::new();
    for i in 0..5 {
        backlog.push(
            store
                .create_user(&a, &user(&format!("old{i}")))
                .await
                .unwrap()
                .revision,
        );
    }
    let mut feed = store.change_feed(start, FeedOptions::default());
    let new = store.create_user(&a, &user("new")).await.unwrap().revision;
    let batches = collect_through(&mut feed, new).await;
    let delivered: Vec<Revision> = batches.iter().flatten().map(|c| c.revision).collect();
    let mut expected = backlog.clone();
    expected.push(new);
    assert_eq!(delivered, expected);

    // From the middle of the log: only what came after.
    let mut feed = store.change_feed(backlog[2], FeedOptions::default());
    let batches = collect_through(&mut feed, new).await;
    let delivered: Vec<Revision> = batches.iter().flatten().map(|c| c.revision).collect();
    assert_eq!(delivered, vec![backlog[3], backlog[4], new]);
}

async fn feed_wait_for_returns_waits_and_times_out(store: &SqlStore) {
    let start = store.current_revision().await.unwrap();
    let feed = store.change_feed(start, FeedOptions::default());
    let watcher = feed.watcher();
    let (consumer, _batches) = consume(feed);

    // Old revisions: at once, even with no time to wait.
    assert_eq!(
        watcher.wait_for(start, Duration::ZERO).await.unwrap(),
        start
    );
    assert_eq!(
        watcher.wait_for(Revision(0), Duration::ZERO).await.unwrap(),
        start
    );

    // A revision not yet written: waits for it.
    let waiter = {
        let watcher = watcher.clone();
        tokio::spawn(async move {
            watcher
                .wait_for(Revision(start.0 + 1), Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    let written = store.create_account("waited-for").await.unwrap().revision;
    assert_eq!(written, Revision(start.0 + 1));
    let reached = waiter.await.unwrap().unwrap();
    assert!(reached >= written);
    assert!(watcher.latest() >= written);
    // Read-your-writes, as `Authorize` does it: the write's own revision.
    let again = store.create_account("again").await.unwrap().revision;
    assert!(
        watcher
            .wait_for(again, Duration::from_secs(2))
            .await
            .unwrap()
            >= again
    );

    // Nothing comes: a clear timeout.
    let far = Revision(again.0 + 1000);
    let began = Instant::now();
    let error = watcher
        .wait_for(far, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        error,
        FeedWaitError::TimedOut {
            wanted: far,
            reached: again,
            timeout: Duration::from_millis(300),
        }
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("did not reach revision {}", far.0)),
        "{message}"
    );
    assert_eq!(Error::from(error).code(), "ServiceUnavailable");

    // Dropping the feed stops it; waiters learn so at once.
    consumer.abort();
    assert!(consumer.await.unwrap_err().is_cancelled());
    let error = tokio::time::timeout(
        Duration::from_secs(1),
        watcher.wait_for(far, Duration::from_secs(10)),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(
        error,
        FeedWaitError::Stopped {
            wanted: far,
            reached: again,
        }
    );
}

/// A revision that committed no change rows (bumped here by hand) is passed over: `latest`
/// advances past it, and the next write is delivered as usual.
async fn feed_advances_past_revisions_without_changes(store: &SqlStore) {
    let start = store.current_revision().await.unwrap();
    let feed = store.change_feed(start, FeedOptions::default());
    let watcher = feed.watcher();
    let (consumer, mut batches) = consume(feed);

    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(store.url()).await.unwrap();
    sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let empty = store.current_revision().await.unwrap();
    assert_eq!(empty, Revision(start.0 + 1));
    assert_eq!(
        watcher
            .wait_for(empty, Duration::from_secs(2))
            .await
            .unwrap(),
        empty
    );
    assert!(
        batches.try_recv().is_err(),
        "an empty revision was delivered"
    );

    let written = store.create_account("after-a-gap").await.unwrap().revision;
    assert_eq!(written, Revision(empty.0 + 1));
    let batch = tokio::time::timeout(Duration::from_secs(2), batches.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        batch.iter().map(|c| c.revision).collect::<Vec<_>>(),
        vec![written]
    );
    consumer.abort();
}

/// PostgreSQL with notifications suppressed (no `LISTEN`), written through another handle (no
/// in-process wake-up): polling alone delivers. On SQLite this is the
/// ordinary cross-handle path.
async fn feed_polling_alone_delivers(store: &SqlStore) {
    let replica = other_handle(store).await;
    let poll_interval = Duration::from_millis(300);
    let options = FeedOptions {
        poll_interval,
        listen: false,
        ..FeedOptions::default()
    };
    let start = replica.current_revision().await.unwrap();
    let mut feed = replica.change_feed(start, options);
    for name in ["polled", "polled-again"] {
        let created = store.create_account(name).await.unwrap();
        let began = Instant::now();
        let batch = next_within(&mut feed, Duration::from_secs(10)).await;
        let elapsed = began.elapsed();
        assert_eq!(batch[0].revision, created.revision);
        // Generous, so a loaded CI machine cannot fail it: the point is that polling alone
        // delivers, in a few poll intervals rather than never.
        assert!(
            elapsed <= Duration::from_secs(5),
            "delivered after {elapsed:?}"
        );
    }
    drop(feed);
    replica.close().await;
}
