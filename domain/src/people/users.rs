//! Users of the system: created, disabled and reset by ADMIN; their own password change; and
//! the long-lived API tokens of INTEGRATION users (shown once, stored hashed, revocable).
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::core::passwords::check_password_strength;
use crate::people::access::{Actor, Permission, Role, Scope};
use crate::people::audit::{Audited, Change};
use crate::people::auth;
use crate::people::organizations::clean_name;
use chrono::{DateTime, Utc};
use entities::{api_token, organization, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;

fn check_username(u: &str) -> DomainResult<()> {
    let ok = (3..=32).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(DomainError::validation(
            "username",
            "用户名为 3–32 位字母、数字或 _ . -",
        ))
    }
}

impl Audited for user::Model {
    const TARGET: &'static str = "User";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({
            "username": self.username,
            "display_name": self.display_name,
            "roles": self.roles,
            "organization_id": self.organization_id,
            "disabled": self.disabled,
            "password_hash": self.password_hash,
        })
    }
}

impl Audited for api_token::Model {
    const TARGET: &'static str = "ApiToken";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    /// The hash only (hidden again by the log); the token itself is never stored.
    fn snapshot(&self) -> serde_json::Value {
        json!({"user_id": self.user_id, "name": self.name, "expires_at": self.expires_at.to_rfc3339(), "token_hash": self.token_hash})
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub roles: &'a [Role],
    pub organization_id: i64,
}

/// Inserts a user inside an open change (the API, bootstrap and demo data all come here).
pub async fn insert(change: &mut Change, new: &NewUser<'_>) -> DomainResult<user::Model> {
    check_username(new.username)?;
    check_password_strength(new.password)?;
    let display_name = clean_name("displayName", new.display_name, 50)?;
    if new.roles.is_empty() {
        return Err(DomainError::validation("roles", "至少需要一个角色"));
    }
    let hash = auth::hash_password(new.password).await?;
    let am = user::ActiveModel {
        username: Set(new.username.to_string()),
        display_name: Set(display_name),
        password_hash: Set(hash),
        roles: Set(Role::join(new.roles)),
        organization_id: Set(new.organization_id),
        disabled: Set(false),
        token_version: Set(0),
        created_at: Set(change.now()),
        updated_at: Set(change.now()),
        ..Default::default()
    };
    change
        .insert_audited_or(am, on_unique(|| DomainError::Conflict("用户名已存在".into())))
        .await
}

pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewUser<'_>) -> DomainResult<user::Model> {
    actor.require(Permission::ManageUsers)?;
    check_username(new.username)?;
    check_password_strength(new.password)?;
    let mut change = Change::begin(db, Some(actor), "createUser").await?;
    let org = organization::Entity::find_by_id(new.organization_id)
        .one(change.txn())
        .await?
        .filter(|o| actor.scope().contains_path(&o.path))
        .ok_or_else(|| DomainError::not_found("组织"))?;
    if user::Entity::find()
        .filter(user::Column::Username.eq(new.username))
        .one(change.txn())
        .await?
        .is_some()
    {
        return Err(DomainError::Conflict("用户名已存在".into()));
    }
    let created = insert(
        &mut change,
        &NewUser {
            organization_id: org.id,
            ..new
        },
    )
    .await?;
    change.commit().await?;
    Ok(created)
}

async fn update_user(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &'static str,
    id: i64,
    edit: impl FnOnce(&user::Model, &mut user::ActiveModel),
) -> DomainResult<user::Model> {
    let mut change = Change::begin(db, Some(actor), action).await?;
    let before = crate::core::db::find::<user::Entity, _>(change.txn(), id, "用户").await?;
    let mut am: user::ActiveModel = before.clone().into();
    edit(&before, &mut am);
    if !am.is_changed() {
        // Nothing to change: nothing is written, not even an audit entry (the transaction is
        // dropped, so rolled back).
        return Ok(before);
    }
    am.updated_at = Set(change.now());
    let after = change.update_audited(&before, am).await?;
    change.commit().await?;
    Ok(after)
}

/// Disabling also bumps the token version: the user's sessions end at once.
pub async fn set_disabled(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    disabled: bool,
) -> DomainResult<user::Model> {
    actor.require(Permission::ManageUsers)?;
    if disabled && id == actor.user_id {
        return Err(DomainError::validation("id", "不能停用自己的账号"));
    }
    let action = if disabled { "disableUser" } else { "enableUser" };
    update_user(db, actor, action, id, |before, u| {
        // Enabling an enabled user (or disabling a disabled one) changes nothing: it must not
        // end the user's sessions.
        if before.disabled != disabled {
            u.disabled = Set(disabled);
            u.token_version = Set(before.token_version + 1);
        }
    })
    .await
}

/// ADMIN sets a new password for someone; the user's existing tokens stop working.
pub async fn reset_password(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    new_password: &str,
) -> DomainResult<user::Model> {
    actor.require(Permission::ManageUsers)?;
    check_password_strength(new_password)?;
    let hash = auth::hash_password(new_password).await?;
    update_user(db, actor, "resetPassword", id, |before, u| {
        u.password_hash = Set(hash);
        u.token_version = Set(before.token_version + 1);
    })
    .await
}

/// A user changes their own password (knowing the old one); every token they hold is revoked.
pub async fn change_password(
    db: &DatabaseConnection,
    actor: &Actor,
    old: &str,
    new_password: &str,
) -> DomainResult<user::Model> {
    check_password_strength(new_password)?;
    let current = get_any(db, actor.user_id).await?;
    if old.len() > 128 || !auth::verify_password(Some(current.password_hash.clone()), old).await {
        return Err(DomainError::validation("oldPassword", "原密码不正确"));
    }
    let hash = auth::hash_password(new_password).await?;
    update_user(db, actor, "changePassword", actor.user_id, |before, u| {
        u.password_hash = Set(hash);
        u.token_version = Set(before.token_version + 1);
    })
    .await
}

async fn get_any(db: &DatabaseConnection, id: i64) -> DomainResult<user::Model> {
    crate::core::db::find::<user::Entity, _>(db, id, "用户").await
}

pub async fn me(db: &DatabaseConnection, actor: &Actor) -> DomainResult<user::Model> {
    get_any(db, actor.user_id).await
}

pub async fn list(db: &DatabaseConnection, actor: &Actor) -> DomainResult<Vec<user::Model>> {
    actor.require(Permission::ReadUsers)?;
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

/// Batch load for the DataLoader (audit entries' actors). Users outside a GRASSROOTS caller's
/// subtree are left out.
pub async fn load_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[i64],
) -> DomainResult<HashMap<i64, user::Model>> {
    let rows = user::Entity::find()
        .find_also_related(organization::Entity)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, o)| o.as_ref().is_some_and(|o| scope.contains_path(&o.path)))
        .map(|(u, _)| (u.id, u))
        .collect())
}

pub struct IssuedToken {
    pub token: String,
    pub record: api_token::Model,
}

/// A long-lived token for an INTEGRATION user (the provincial platform). The clear token is in
/// the answer only; the database keeps its SHA-256.
pub async fn create_api_token(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    name: &str,
    expires_at: DateTime<Utc>,
) -> DomainResult<IssuedToken> {
    actor.require(Permission::ManageApiTokens)?;
    let name = clean_name("name", name, 100)?;
    let now = Utc::now();
    if expires_at <= now {
        return Err(DomainError::validation("expiresAt", "有效期必须晚于当前时间"));
    }
    if expires_at > now + chrono::Duration::days(3 * 366) {
        return Err(DomainError::validation("expiresAt", "有效期不能超过三年"));
    }
    let mut change = Change::begin(db, Some(actor), "createApiToken").await?;
    let owner = crate::core::db::find::<user::Entity, _>(change.txn(), user_id, "用户").await?;
    if !Role::parse_list(&owner.roles).contains(&Role::Integration) {
        return Err(DomainError::validation(
            "userId",
            "只能为 INTEGRATION 角色的用户签发接口令牌",
        ));
    }
    let token = auth::new_api_token();
    let record = change
        .insert_audited(api_token::ActiveModel {
            user_id: Set(owner.id),
            name: Set(name),
            token_hash: Set(auth::api_token_hash(&token)),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            created_by: Set(actor.user_id),
            created_at: Set(change.now()),
            ..Default::default()
        })
        .await?;
    change.commit().await?;
    Ok(IssuedToken { token, record })
}

pub async fn revoke_api_token(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> DomainResult<api_token::Model> {
    actor.require(Permission::ManageApiTokens)?;
    let mut change = Change::begin(db, Some(actor), "revokeApiToken").await?;
    let t = crate::core::db::find::<api_token::Entity, _>(change.txn(), id, "接口令牌").await?;
    if t.revoked_at.is_some() {
        return Err(DomainError::Conflict("该令牌已撤销".into()));
    }
    let mut am: api_token::ActiveModel = t.into();
    am.revoked_at = Set(Some(change.now()));
    let after = am.update(change.txn()).await?;
    change
        .record(
            "ApiToken",
            Some(id.to_string()),
            Some(&json!({"revoked": false})),
            Some(&json!({"revoked": true})),
        )
        .await?;
    change.commit().await?;
    Ok(after)
}

pub async fn list_api_tokens(db: &DatabaseConnection, actor: &Actor) -> DomainResult<Vec<api_token::Model>> {
    actor.require(Permission::ManageApiTokens)?;
    Ok(api_token::Entity::find()
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_and_password_rules() {
        assert!(check_username("admin").is_ok());
        assert!(check_username("ab").is_err());
        assert!(check_username("张三").is_err());
        assert!(check_password_strength("1234567").is_err());
        assert!(check_password_strength("12345678").is_ok());
        assert!(check_password_strength(&"x".repeat(129)).is_err());
    }
}
