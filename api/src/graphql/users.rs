//! `User`, user administration and INTEGRATION API tokens.
use super::context::{actor, id_of, services};
use super::enums::Role;
use super::errors::ApiResult;
use super::loaders::{OrgLoader, loader};
use super::organizations::Organization;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainError;
use entities::{api_token, organization, user};

pub struct User(pub user::Model, pub Option<organization::Model>);

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        User(u, None)
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn roles(&self) -> Vec<Role> {
        domain::Role::parse_list(&self.0.roles)
            .into_iter()
            .map(Role::from)
            .collect()
    }
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        // Preloaded where the caller is not yet known (the answer to `login`).
        if let Some(o) = &self.1 {
            return Ok(Organization(o.clone()));
        }
        let loader = loader::<OrgLoader>(ctx);
        loader
            .load_one(self.0.organization_id)
            .await?
            .map(Organization)
            .ok_or_else(|| DomainError::not_found("组织").into())
    }
    /// Disabled users cannot log in and their tokens are refused.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    username: String,
    password: String,
    display_name: String,
    roles: Vec<Role>,
    organization_id: ID,
}

/// A long-lived API token of an INTEGRATION user. The token itself is only in `ApiTokenPayload`.
pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct ApiTokenPayload {
    /// Shown once: store it now, it cannot be read again.
    token: String,
    api_token: ApiToken,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// ADMIN, AUDITOR.
    async fn users(&self, ctx: &Context<'_>) -> ApiResult<Vec<User>> {
        let s = services(ctx);
        Ok(domain::users::list(&s.db, actor(ctx)?)
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }

    /// ADMIN.
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiToken>> {
        let s = services(ctx);
        Ok(domain::users::list_api_tokens(&s.db, actor(ctx)?)
            .await?
            .into_iter()
            .map(ApiToken)
            .collect())
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<User> {
        let s = services(ctx);
        let roles: Vec<domain::Role> = input.roles.iter().map(|r| (*r).into()).collect();
        let created = domain::users::create(
            &s.db,
            actor(ctx)?,
            domain::users::NewUser {
                username: &input.username,
                password: &input.password,
                display_name: &input.display_name,
                roles: &roles,
                organization_id: id_of(&input.organization_id, "组织")?,
            },
        )
        .await?;
        Ok(created.into())
    }

    /// ADMIN. The user's tokens stop working at once.
    async fn disable_user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<User> {
        let s = services(ctx);
        Ok(User::from(
            domain::users::set_disabled(&s.db, actor(ctx)?, id_of(&id, "用户")?, true).await?,
        ))
    }

    /// ADMIN.
    async fn enable_user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<User> {
        let s = services(ctx);
        Ok(User::from(
            domain::users::set_disabled(&s.db, actor(ctx)?, id_of(&id, "用户")?, false).await?,
        ))
    }

    /// ADMIN sets a new password; the user's existing tokens stop working.
    async fn reset_password(&self, ctx: &Context<'_>, id: ID, new_password: String) -> ApiResult<User> {
        let s = services(ctx);
        Ok(User::from(
            domain::users::reset_password(&s.db, actor(ctx)?, id_of(&id, "用户")?, &new_password).await?,
        ))
    }

    /// ADMIN: a long-lived token for an INTEGRATION user (the provincial platform).
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        name: String,
        expires_at: DateTime<Utc>,
    ) -> ApiResult<ApiTokenPayload> {
        let s = services(ctx);
        let issued =
            domain::users::create_api_token(&s.db, actor(ctx)?, id_of(&user_id, "用户")?, &name, expires_at)
                .await?;
        Ok(ApiTokenPayload {
            token: issued.token,
            api_token: ApiToken(issued.record),
        })
    }

    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiToken> {
        let s = services(ctx);
        Ok(ApiToken(
            domain::users::revoke_api_token(&s.db, actor(ctx)?, id_of(&id, "接口令牌")?).await?,
        ))
    }
}
