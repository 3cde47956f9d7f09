//! `login`, `me` and the caller's own password change.
use super::context::{ClientAddr, actor, services};
use super::errors::ApiResult;
use super::users::User;
use async_graphql::{Context, Object, SimpleObject};

#[derive(SimpleObject)]
pub struct AuthPayload {
    token: String,
    user: User,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let s = services(ctx);
        Ok(domain::users::me(&s.db, actor(ctx)?).await?.into())
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    async fn login(&self, ctx: &Context<'_>, username: String, password: String) -> ApiResult<AuthPayload> {
        let s = services(ctx);
        let addr = ctx
            .data_opt::<ClientAddr>()
            .map(|a| a.0.as_str())
            .unwrap_or("unknown");
        let done = domain::auth::login(&s.db, &s.settings, &username, &password, addr).await?;
        Ok(AuthPayload {
            token: done.token,
            user: User(done.user, Some(done.organization)),
        })
    }

    /// Changes the caller's own password; every token the caller holds stops working.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        old_password: String,
        new_password: String,
    ) -> ApiResult<User> {
        let s = services(ctx);
        Ok(
            domain::users::change_password(&s.db, actor(ctx)?, &old_password, &new_password)
                .await?
                .into(),
        )
    }
}
