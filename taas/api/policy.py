"""oslo.policy rules with registered defaults; overridable by [oslo_policy] policy_file.

The defaults encode Neutron's conventions. Tenant isolation (who may see or monitor which
port) is built into the API on top of these rules: a policy file can make the API
stricter, never let a tenant reach another project's resources.
"""
from __future__ import annotations

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from taas.api.auth import Caller, Identity
from taas.api.errors import forbidden

ADMIN_ONLY = "rule:admin_only"
ADMIN_OR_OWNER = "rule:admin_or_owner"

_BASE = [
    policy.RuleDefault("context_is_admin", "role:admin", description="The admin role."),
    policy.RuleDefault("admin_only", "rule:context_is_admin", description="Admins only."),
    policy.RuleDefault("owner", "project_id:%(project_id)s",
                       description="The caller's project owns the resource."),
    policy.RuleDefault("admin_or_owner", "rule:context_is_admin or rule:owner",
                       description="Admins, or the owning project."),
    policy.RuleDefault("network_owner", "project_id:%(network_project_id)s",
                       description="The caller's project owns the resource's network."),
    policy.RuleDefault("shared", "'True':%(shared)s", description="The network is shared."),
]


def _crud(resource: str, collection: str, get: str = ADMIN_OR_OWNER,
          write: str = ADMIN_OR_OWNER) -> list[policy.DocumentedRuleDefault]:
    item = f"{collection}/{{id}}"
    specs = [("create", write, collection, "POST"), ("get", get, collection, "GET"),
             ("update", write, item, "PUT"), ("delete", write, item, "DELETE")]
    return [policy.DocumentedRuleDefault(
        name=f"{action}_{resource}", check_str=check,
        description=f"{action.capitalize()} a {resource.replace('_', ' ')}.",
        operations=[{"path": path, "method": method}]
        + ([{"path": item, "method": "GET"}] if action == "get" else []))
        for action, check, path, method in specs]


def _attribute(name: str, check: str, path: str, method: str,
               description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(name=name, check_str=check, description=description,
                                        operations=[{"path": path, "method": method}])


_PORT_RULE = "rule:admin_or_owner or rule:network_owner"

_RESOURCES = [
    *_crud("network", "/v2.0/networks", get="rule:admin_or_owner or rule:shared"),
    _attribute("create_network:shared", ADMIN_ONLY, "/v2.0/networks", "POST",
               "Create a shared network."),
    _attribute("update_network:shared", ADMIN_ONLY, "/v2.0/networks/{id}", "PUT",
               "Share or unshare a network."),
    *_crud("port", "/v2.0/ports", get=_PORT_RULE, write=_PORT_RULE),
    _attribute("create_port:binding:host_id", ADMIN_ONLY, "/v2.0/ports", "POST",
               "Bind a new port to a host (what Nova does)."),
    _attribute("update_port:binding:host_id", ADMIN_ONLY, "/v2.0/ports/{id}", "PUT",
               "Bind a port to a host, or move it."),
    _attribute("get_port:binding:host_id", ADMIN_ONLY, "/v2.0/ports/{id}", "GET",
               "See which host a port is bound to."),
    *_crud("tap_service", "/v2.0/taas/tap_services"),
    _attribute("get_tap_service:session_id", ADMIN_ONLY, "/v2.0/taas/tap_services/{id}",
               "GET", "See the mirror-session id (tunnel key) of a tap service."),
    *_crud("tap_flow", "/v2.0/taas/tap_flows"),
    *_crud("tap_mirror", "/v2.0/taas/tap_mirrors"),
    _attribute("get_quotas", ADMIN_ONLY, "/v2.0/quotas", "GET", "List quota overrides."),
    _attribute("get_quota", ADMIN_OR_OWNER, "/v2.0/quotas/{project_id}", "GET",
               "Show a project's quota."),
    _attribute("update_quota", ADMIN_ONLY, "/v2.0/quotas/{project_id}", "PUT",
               "Change a project's quota."),
    _attribute("delete_quota", ADMIN_ONLY, "/v2.0/quotas/{project_id}", "DELETE",
               "Reset a project's quota to the defaults."),
    _attribute("get_agent", ADMIN_ONLY, "/v2.0/agents", "GET", "List TaaS agents."),
]


def list_rules() -> list[policy.RuleDefault]:
    """Entry point of oslo.policy.policies (oslopolicy-sample-generator --namespace taas)."""
    return _BASE + _RESOURCES


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [oslo_policy] (policy_file, ...) so it can be read or overridden early."""
    policy_opts.set_defaults(conf)


class Policy:
    """An Enforcer with our defaults; the policy file is re-read when it changes."""

    def __init__(self, conf: cfg.ConfigOpts):
        register_opts(conf)
        self.enforcer = policy.Enforcer(conf)
        self.enforcer.register_defaults(list_rules())

    def check(self, rule: str, caller: Caller | Identity, target: dict) -> bool:
        creds = caller.creds() if isinstance(caller, Caller) else {
            "user_id": caller.user, "project_id": caller.project_id,
            "tenant_id": caller.project_id, "roles": list(caller.roles)}
        return bool(self.enforcer.enforce(rule, target, creds, do_raise=False))

    def is_admin(self, identity: Identity) -> bool:
        return self.check("context_is_admin", identity, {})

    def authorize(self, rule: str, caller: Caller, target: dict) -> None:
        """Raise 403 unless the rule allows it."""
        if not self.check(rule, caller, target):
            raise forbidden(f"rule:{rule} is disallowed by policy")
