//! Every DataLoader of the API, registered in one place (`attach`). Loaders are made per
//! request with the caller's scope, so batching never leaks rows across callers.
use async_graphql::dataloader::{DataLoader, Loader};
use domain::{DomainError, Scope, Services};
use entities::{category, organization, user};
use std::collections::HashMap;
use std::sync::Arc;

pub type LoadError = Arc<DomainError>;

pub struct OrgLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgLoader {
    type Value = organization::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Children of an organisation, keyed by parent id.
pub struct OrgChildrenLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgChildrenLoader {
    type Value = Vec<organization::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::children_of(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

pub struct UserLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for UserLoader {
    type Value = user::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::users::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Categories of a campaign, keyed by campaign id (visibility was checked on the campaign).
pub struct CategoriesLoader {
    services: Services,
}

impl Loader<i64> for CategoriesLoader {
    type Value = Vec<category::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::campaigns::categories_of(&self.services.db, keys)
            .await
            .map_err(Arc::new)
    }
}

pub fn attach(mut req: async_graphql::Request, services: &Services, scope: &Scope) -> async_graphql::Request {
    let spawn = tokio::spawn;
    req = req
        .data(DataLoader::new(
            OrgLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            OrgChildrenLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            UserLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            CategoriesLoader {
                services: services.clone(),
            },
            spawn,
        ));
    req
}
