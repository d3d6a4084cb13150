use tessera_store::{AccountId, OperatorStore, SqlStore};

use crate::support::{account, assert_code};

conformance!(the_first_claim_wins, an_unknown_account_cannot_be_claimed);

async fn the_first_claim_wins(store: &SqlStore) {
    assert_eq!(store.operator_account().await.unwrap(), None);
    let first = account(store).await;
    let second = account(store).await;
    let claimed = store.claim_operator_account(&first).await.unwrap();
    assert_eq!(claimed.value, first);
    assert_eq!(store.operator_account().await.unwrap(), Some(first.clone()));
    // A later claim learns the existing operator and changes nothing.
    let again = store.claim_operator_account(&second).await.unwrap();
    assert_eq!(again.value, first);
    assert_eq!(again.revision, store.current_revision().await.unwrap());
    assert_eq!(store.operator_account().await.unwrap(), Some(first));
}

async fn an_unknown_account_cannot_be_claimed(store: &SqlStore) {
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store.claim_operator_account(&ghost).await,
        "EntityNotExist.Account",
    );
    assert_eq!(store.operator_account().await.unwrap(), None);
}
