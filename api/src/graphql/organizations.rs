//! `Organization` and the organisation tree operations.
use super::context::{actor, id_of, services};
use super::enums::OrgKind;
use super::errors::ApiResult;
use super::loaders::{OrgChildrenLoader, OrgLoader, loader};
use async_graphql::{Context, ID, InputObject, Object};
use entities::organization;

pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> OrgKind {
        domain::organizations::kind_of(&self.0).into()
    }
    /// Null at the root, and above what a GRASSROOTS caller may see.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(pid) = self.0.parent_id else {
            return Ok(None);
        };
        let loader = loader::<OrgLoader>(ctx);
        Ok(loader.load_one(pid).await?.map(Organization))
    }
    async fn children(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organization>> {
        let loader = loader::<OrgChildrenLoader>(ctx);
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Organization)
            .collect())
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    name: String,
    kind: OrgKind,
    parent_id: Option<ID>,
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// All organisations the caller may see (a GRASSROOTS caller: its own subtree).
    async fn organizations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organization>> {
        let s = services(ctx);
        let rows = domain::organizations::list(&s.db, actor(ctx)?).await?;
        Ok(rows.into_iter().map(Organization).collect())
    }

    async fn organization(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Organization>> {
        let s = services(ctx);
        let id = id_of(&id, "组织")?;
        match domain::organizations::get(&s.db, actor(ctx)?, id).await {
            Ok(o) => Ok(Some(Organization(o))),
            Err(domain::DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> ApiResult<Organization> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let parent = input
            .parent_id
            .as_ref()
            .map(|p| id_of(p, "上级组织"))
            .transpose()?;
        let created =
            domain::organizations::create(&s.db, actor, &input.name, input.kind.into(), parent).await?;
        Ok(Organization(created))
    }
}
