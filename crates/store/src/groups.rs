//! Groups and group memberships.

use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, Result, names};

use crate::model::{Committed, EntityKind, Group, Membership, Page, Paged, User};
use crate::sql::{
    SqlStore, db_error, exists_or_db_error, get, get_time, name_key, new_numeric_id, page_bounds,
    paged,
};
use crate::users::{USER_COLUMNS, user_from_row};

/// Groups and memberships.
#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn create_group(
        &self,
        account: &AccountId,
        name: &str,
        comments: Option<&str>,
    ) -> Result<Committed<Group>>;
    async fn get_group(&self, account: &AccountId, name: &str) -> Result<Group>;
    /// `UpdateGroup`: rename and/or change comments; members and policies stay.
    async fn update_group(
        &self,
        account: &AccountId,
        name: &str,
        new_name: Option<&str>,
        new_comments: Option<&str>,
    ) -> Result<Committed<Group>>;
    /// Fails with `DeleteConflict.Group.User` / `.Group.Policy` while it has members/policies.
    async fn delete_group(&self, account: &AccountId, name: &str) -> Result<Committed<()>>;
    async fn list_groups(&self, account: &AccountId, page: &Page) -> Result<Paged<Group>>;
    async fn add_user_to_group(
        &self,
        account: &AccountId,
        group: &str,
        user: &str,
    ) -> Result<Committed<()>>;
    async fn remove_user_from_group(
        &self,
        account: &AccountId,
        group: &str,
        user: &str,
    ) -> Result<Committed<()>>;
    async fn list_groups_for_user(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Vec<Membership<Group>>>;
    async fn list_users_for_group(
        &self,
        account: &AccountId,
        group: &str,
        page: &Page,
    ) -> Result<Paged<Membership<User>>>;
}

const GROUP_COLUMNS: &str = "id, name, comments, created_at, updated_at";

fn group_from_row(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: get(row, "id")?,
        name: get(row, "name")?,
        comments: get(row, "comments")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl SqlStore {
    async fn fetch_group(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<Group> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE account_id = $1 AND name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get group", &e))?
            .ok_or_else(|| Error::not_exist(Entity::Group))?;
        group_from_row(&row)
    }

    /// The id of group `name`, or `EntityNotExist.Group`.
    pub(crate) async fn group_id(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<String> {
        Ok(SqlStore::fetch_group(conn, account, name).await?.id)
    }
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn create_group(
        &self,
        account: &AccountId,
        name: &str,
        comments: Option<&str>,
    ) -> Result<Committed<Group>> {
        names::group_name(name)?;
        if let Some(c) = comments {
            names::comments(c)?;
        }
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM groups WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("count groups", &e))?;
        let quota = self.quotas_in(&mut w.tx, account).await?.groups;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::Group, quota));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO groups (account_id, id, name, name_key, comments, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {GROUP_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(new_numeric_id())
            .bind(name.to_owned())
            .bind(name_key(name))
            .bind(comments.unwrap_or_default().to_owned())
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(exists_or_db_error(Entity::Group, "create group"))?;
        let value = group_from_row(&row)?;
        w.changed(Some(account), EntityKind::Group, &name_key(name))
            .await?;
        w.commit_with(value).await
    }

    async fn get_group(&self, account: &AccountId, name: &str) -> Result<Group> {
        let mut conn = self.conn().await?;
        SqlStore::fetch_group(&mut conn, account, name).await
    }

    async fn update_group(
        &self,
        account: &AccountId,
        name: &str,
        new_name: Option<&str>,
        new_comments: Option<&str>,
    ) -> Result<Committed<Group>> {
        if let Some(n) = new_name {
            names::group_name(n)?;
        }
        if let Some(c) = new_comments {
            names::comments(c)?;
        }
        let mut w = self.write().await?;
        let current = SqlStore::fetch_group(&mut w.tx, account, name).await?;
        let renamed = new_name.unwrap_or(&current.name).to_owned();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE groups SET name = $3, name_key = $4, comments = $5, updated_at = $6 \
             WHERE account_id = $1 AND id = $2 RETURNING {GROUP_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(current.id.clone())
            .bind(renamed.clone())
            .bind(name_key(&renamed))
            .bind(new_comments.map_or(current.comments.clone(), str::to_owned))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(exists_or_db_error(Entity::Group, "update group"))?;
        let value = group_from_row(&row)?;
        w.changed(Some(account), EntityKind::Group, &name_key(&current.name))
            .await?;
        if name_key(&current.name) != name_key(&renamed) {
            w.changed(Some(account), EntityKind::Group, &name_key(&renamed))
                .await?;
        }
        w.commit_with(value).await
    }

    async fn delete_group(&self, account: &AccountId, name: &str) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let id = SqlStore::group_id(&mut w.tx, account, name).await?;
        let members = sqlx::query(
            "SELECT 1 AS one FROM group_members WHERE account_id = $1 AND group_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(id.clone())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(|e| db_error("group members", &e))?;
        if members.is_some() {
            return Err(Error::delete_conflict(
                "Group.User",
                "The group CAN NOT be deleted while it has members.",
            ));
        }
        let policies = sqlx::query(
            "SELECT 1 AS one FROM attachments \
             WHERE account_id = $1 AND target_kind = 'group' AND target_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(id.clone())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(|e| db_error("group policies", &e))?;
        if policies.is_some() {
            return Err(Error::delete_conflict(
                "Group.Policy",
                "The group CAN NOT be deleted while it has attached policies.",
            ));
        }
        sqlx::query("DELETE FROM groups WHERE account_id = $1 AND id = $2")
            .bind(account.as_str().to_owned())
            .bind(id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete group", &e))?;
        w.changed(Some(account), EntityKind::Group, &name_key(name))
            .await?;
        w.commit_with(()).await
    }

    async fn list_groups(&self, account: &AccountId, page: &Page) -> Result<Paged<Group>> {
        self.list_by_name("groups", GROUP_COLUMNS, account, page, 100, group_from_row)
            .await
    }

    async fn add_user_to_group(
        &self,
        account: &AccountId,
        group: &str,
        user: &str,
    ) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let group_id = SqlStore::group_id(&mut w.tx, account, group).await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        let existing = sqlx::query(
            "SELECT group_id FROM group_members WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(user_id.clone())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(|e| db_error("memberships", &e))?;
        let mut count = 0u32;
        for row in &existing {
            if get::<String>(row, "group_id")? == group_id {
                return Err(Error::already_exists(Entity::UserGroup));
            }
            count += 1;
        }
        let quota = self.quotas_in(&mut w.tx, account).await?.groups_per_user;
        if count >= quota {
            return Err(Error::limit_exceeded(Entity::UserGroup, quota));
        }
        sqlx::query(
            "INSERT INTO group_members (account_id, group_id, user_id, joined_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(account.as_str().to_owned())
        .bind(group_id)
        .bind(user_id)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(Entity::UserGroup, "add member"))?;
        w.changed(Some(account), EntityKind::User, &name_key(user))
            .await?;
        w.changed(Some(account), EntityKind::Group, &name_key(group))
            .await?;
        w.commit_with(()).await
    }

    async fn remove_user_from_group(
        &self,
        account: &AccountId,
        group: &str,
        user: &str,
    ) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let group_id = SqlStore::group_id(&mut w.tx, account, group).await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        let done = sqlx::query(
            "DELETE FROM group_members WHERE account_id = $1 AND group_id = $2 AND user_id = $3",
        )
        .bind(account.as_str().to_owned())
        .bind(group_id)
        .bind(user_id)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("remove member", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::UserGroup));
        }
        w.changed(Some(account), EntityKind::User, &name_key(user))
            .await?;
        w.changed(Some(account), EntityKind::Group, &name_key(group))
            .await?;
        w.commit_with(()).await
    }

    async fn list_groups_for_user(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Vec<Membership<Group>>> {
        let mut tx = self.read().await?;
        let user_id = SqlStore::user_id(&mut tx, account, user).await?;
        let rows = sqlx::query(
            "SELECT g.id, g.name, g.comments, g.created_at, g.updated_at, m.joined_at \
             FROM group_members m JOIN groups g ON g.account_id = m.account_id AND g.id = m.group_id \
             WHERE m.account_id = $1 AND m.user_id = $2 ORDER BY g.name_key",
        )
        .bind(account.as_str().to_owned())
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error("groups for user", &e))?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        rows.iter()
            .map(|row| {
                Ok(Membership {
                    entity: group_from_row(row)?,
                    joined_at: get_time(row, "joined_at")?,
                })
            })
            .collect()
    }

    async fn list_users_for_group(
        &self,
        account: &AccountId,
        group: &str,
        page: &Page,
    ) -> Result<Paged<Membership<User>>> {
        let (limit, marker) = page_bounds(page, 1000)?;
        let mut tx = self.read().await?;
        let group_id = SqlStore::group_id(&mut tx, account, group).await?;
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT u.name_key, {columns}, m.joined_at \
             FROM group_members m JOIN users u ON u.account_id = m.account_id AND u.id = m.user_id \
             WHERE m.account_id = $1 AND m.group_id = $2 AND u.name_key > $3 \
             ORDER BY u.name_key LIMIT $4"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(group_id)
            .bind(marker)
            .bind(limit + 1)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("users for group", &e))?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        let items = rows
            .iter()
            .map(|row| {
                Ok((
                    get(row, "name_key")?,
                    Membership {
                        entity: user_from_row(row)?,
                        joined_at: get_time(row, "joined_at")?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(items, limit))
    }
}
