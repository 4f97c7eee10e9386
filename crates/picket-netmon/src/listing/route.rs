//! One handler behind two documented operations: a list's GET and its POST search, an update's
//! PATCH and PUT, the data delete's POST and DELETE. `utoipa_axum::routes!` pairs a handler
//! only with the document generated under the handler's own name, so the second operation is
//! declared with `#[utoipa::path(…, impl_for = Doc)]` on the same handler and mounted with
//! [`documented`]. It reads the document through `utoipa::__dev`, as `routes!` itself does.

use axum::handler::Handler;
use picket_core::AppState;
use utoipa::__dev::{SchemaReferences, Tags};
use utoipa::openapi::path::Paths;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::PathItemExt;

/// `handler` served at the path and methods `Doc` documents, with `Doc`'s operation, tags and
/// schemas in the OpenAPI document (what `routes!` adds for a handler's own document).
pub fn documented<Doc, H, T>(handler: H) -> UtoipaMethodRouter<AppState>
where
    Doc: utoipa::Path + SchemaReferences + for<'t> Tags<'t>,
    H: Handler<T, AppState>,
    T: 'static,
{
    let mut schemas = Vec::new();
    Doc::schemas(&mut schemas);
    let mut operation = Doc::operation();
    let tags = Doc::tags();
    if !tags.is_empty() {
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(tags.iter().map(ToString::to_string));
    }
    let methods = Doc::methods();
    let router = methods
        .iter()
        .fold(axum::routing::MethodRouter::new(), |router, method| {
            router.on(method.to_method_filter(), handler.clone())
        });
    let mut paths = Paths::new();
    paths.add_path_operation(Doc::path(), methods, operation);
    (schemas, paths, router)
}
