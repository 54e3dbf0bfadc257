"""Make the KCPF site match `manifests/sharepoint/` (`provision`) or say exactly how it differs (`check`).

Provisioning creates what is missing (lists with all their columns in one request, missing columns, the index
on a filtered column, missing choices) and changes nothing that is already right; it never deletes. What it
cannot put right without losing data (a column of the wrong type) is reported for an administrator.

The list views and column formatting (views.json) go through SharePoint REST, after the Graph work: Graph has
neither. A view that exists under its title but differs (filter, sorting, grouping, columns, row limit) is
updated to match: a view holds no data, so nothing is lost. SharePoint REST takes an app-only token only
when it was got with a certificate, and needs the SharePoint API's own Sites.Selected permission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connectors.sharepoint.graph import GraphError, GraphSession
from connectors.sharepoint.schema import Column, ListSchema, Schema
from connectors.sharepoint.views import ColumnFormat, View, ViewManifest, same_query

BROAD_ROLES = frozenset(
    {"Sites.ReadWrite.All", "Sites.FullControl.All", "Sites.Manage.All", "Sites.Read.All"}
)
WRITE_ROLES = frozenset({"write", "owner", "fullcontrol"})


@dataclass(frozen=True)
class Problem:
    where: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}. What to do: {self.fix}"


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # checked and fine, or could not be checked (and why)

    @property
    def ok(self) -> bool:
        return not self.problems


class Provisioner:
    def __init__(self, graph: GraphSession, schema: Schema, views: ViewManifest | None = None) -> None:
        self.graph = graph
        self.schema = schema
        self.views = views  # None: lists and columns only

    # --- check --------------------------------------------------------------------------------------------
    def check(self) -> Report:
        """Reads only. Every way the site differs from what KCPF needs, each with what to do."""
        try:
            return self._check()
        except GraphError as error:  # SharePoint stopped answering part-way: say so, not a traceback
            return Report((_unreachable(error),))

    def provision(self) -> Report:
        """Creates what is missing; a second run changes nothing and says so (no changes in the report)."""
        try:
            return self._provision()
        except GraphError as error:
            return Report((_unreachable(error),))

    def _check(self) -> Report:
        problems: list[Problem] = []
        notes: list[str] = []
        site = self._site(problems)
        if site is None:
            return Report(tuple(problems), notes=tuple(notes))
        notes.append(f"site reachable: {site.get('webUrl', self.graph.settings.site_url)}")
        self._check_app_roles(problems, notes)
        self._check_grant(problems, notes)
        lists = self._lists()
        for wanted in self.schema.lists:
            found = lists.get(wanted.display_name.lower())
            if found is None:
                problems.append(
                    Problem(
                        f"{_kind(wanted)} “{wanted.display_name}”",
                        "is missing",
                        "run `kcpf sharepoint provision` to create it",
                    )
                )
                continue
            problems.extend(self._list_problems(wanted, found))
        if not problems:
            count = sum(len(x.columns) for x in self.schema.lists)
            notes.append(
                f"{len(self.schema.lists)} lists and libraries and {count} columns as KCPF needs them"
            )
        if self.views is not None:
            if self.graph.uses_certificate:
                before = len(problems)
                self._rest_work(lists, problems, [], write=False)
                if len(problems) == before:
                    notes.append(
                        f"{len(self.views.views)} views and the colour formatting of "
                        f"{len(self.views.formats)} columns as KCPF defines them"
                    )
            else:
                notes.append(_no_certificate("checked"))
        return Report(tuple(problems), notes=tuple(notes))

    def _provision(self) -> Report:
        problems: list[Problem] = []
        notes: list[str] = []
        site = self._site(problems)
        if site is None:
            return Report(tuple(problems))
        changes: list[str] = []
        lists = self._lists()
        for wanted in self.schema.lists:
            found = lists.get(wanted.display_name.lower())
            if found is None:
                created = self._create_list(wanted, problems, changes)
                if created is not None:
                    lists[wanted.display_name.lower()] = created
                continue
            if (found.get("list") or {}).get("template", wanted.template) != wanted.template:
                problems.extend(self._list_problems(wanted, found))
                continue
            columns = self._columns(found)
            for column in wanted.columns:
                self._provision_column(wanted, found, column, columns.get(column.name), problems, changes)
        if self.views is not None:
            if self.graph.uses_certificate:
                self._rest_work(lists, problems, changes, write=True)
            else:
                # The Graph work is done; the rest needs a certificate, or a site owner's hand, which KCPF
                # cannot see either: a note, as `check` gives, so a deploy script carries on.
                notes.append(_no_certificate("made or checked"))
        return Report(tuple(problems), tuple(changes), tuple(notes))

    # --- views and column formatting, through SharePoint REST ------------------------------------------
    def _rest_work(
        self,
        lists: dict[str, dict[str, Any]],
        problems: list[Problem],
        changes: list[str],
        *,
        write: bool,
    ) -> None:
        assert self.views is not None
        for wanted in self.schema.lists:
            views, formats = self.views.for_list(wanted.key)
            found = lists.get(wanted.display_name.lower())
            if (not views and not formats) or found is None:
                continue  # a missing list is reported (or created) above
            base = f"web/lists(guid'{found['id']}')"
            where = f"{_kind(wanted)} “{wanted.display_name}”"
            try:
                if views:
                    self._views(wanted, base, views, problems, changes, write=write)
                if formats:
                    self._formats(wanted, base, formats, problems, changes, write=write)
            except GraphError as error:
                problems.append(_rest_problem(where, error))
                return  # the same refusal would follow for every other list

    def _views(
        self,
        wanted: ListSchema,
        base: str,
        views: tuple[View, ...],
        problems: list[Problem],
        changes: list[str],
        *,
        write: bool,
    ) -> None:
        answer = self.graph.rest("GET", f"{base}/views?$select=Id,Title,ViewQuery,RowLimit")
        have = {str(v.get("Title", "")).lower(): v for v in answer.get("value", [])}
        for view in views:
            where = f"view “{view.title}” of the {_kind(wanted)} “{wanted.display_name}”"
            found = have.get(view.title.lower())
            if found is None:
                if not write:
                    problems.append(
                        Problem(where, "is missing", "run `kcpf sharepoint provision` to create it")
                    )
                    continue
                self.graph.rest("POST", f"{base}/views/add", view.creation())
                changes.append(f"created the {where}")
                continue
            path = f"{base}/views(guid'{found['Id']}')"
            fields = self.graph.rest("GET", f"{path}/viewfields").get("Items") or []
            differs = []
            if not same_query(str(found.get("ViewQuery") or ""), view.query()):
                differs.append("its filter, sorting or grouping")
            if [str(f) for f in fields] != list(view.columns):
                differs.append("its columns")
            if found.get("RowLimit") != view.row_limit:
                differs.append("its row limit")
            if not differs:
                continue
            what = f"differs from manifests/sharepoint/views.json ({' and '.join(differs)})"
            if not write:
                problems.append(
                    Problem(
                        where,
                        what,
                        "run `kcpf sharepoint provision`, which updates it (a view holds no data: nothing is "
                        "lost)",
                    )
                )
                continue
            # A view holds no items, only how they are shown: updating it in place loses nothing.
            update = {
                "__metadata": {"type": "SP.View"},
                "ViewQuery": view.query(),
                "RowLimit": view.row_limit,
            }
            self.graph.rest("POST", path, update, merge=True)
            if "its columns" in differs:
                self.graph.rest("POST", f"{path}/viewfields/removeallviewfields", repeatable=True)
                for column in view.columns:
                    self.graph.rest("POST", f"{path}/viewfields/addviewfield('{column}')", repeatable=True)
            changes.append(f"updated the {where} to match views.json ({' and '.join(differs)})")

    def _formats(
        self,
        wanted: ListSchema,
        base: str,
        formats: tuple[ColumnFormat, ...],
        problems: list[Problem],
        changes: list[str],
        *,
        write: bool,
    ) -> None:
        answer = self.graph.rest("GET", f"{base}/fields?$select=InternalName,CustomFormatter")
        have = {str(f.get("InternalName")): f for f in answer.get("value", [])}
        for fmt in formats:
            column = fmt.column
            where = f"{_kind(wanted)} “{wanted.display_name}”, column {column.name} ({column.display_name})"
            found = have.get(column.name)
            if found is None:
                continue  # the missing column is reported (or added) above
            if _formatter(found.get("CustomFormatter")) == fmt.formatter():
                continue
            if not write:
                problems.append(
                    Problem(
                        where,
                        "lacks the formatting that shows each value as its word on its colour",
                        "run `kcpf sharepoint provision`",
                    )
                )
                continue
            body = {"__metadata": {"type": "SP.Field"}, "CustomFormatter": json.dumps(fmt.formatter())}
            self.graph.rest(
                "POST", f"{base}/fields/getbyinternalnameortitle('{column.name}')", body, merge=True
            )
            changes.append(f"{where}: set its formatting (each value as its word, on its colour)")

    # --- the parts ------------------------------------------------------------------------------------------
    def _site(self, problems: list[Problem]) -> dict[str, Any] | None:
        settings = self.graph.settings
        try:
            return self.graph.site()
        except GraphError as error:
            if error.code == "authFailed":
                problems.append(
                    Problem(
                        "sign-in",
                        error.message,
                        "check KCPF_SP_TENANT_ID, KCPF_SP_CLIENT_ID and that the certificate (or secret) is "
                        "the one uploaded to the app registration and has not expired",
                    )
                )
            elif error.status == 403:
                problems.append(
                    Problem(
                        f"site {settings.site_url}",
                        "the app may not open the site",
                        "the app needs the Sites.Selected application permission (admin consent given) and "
                        + _grant_fix("{site-id}", settings.client_id),
                    )
                )
            elif error.status == 404:
                problems.append(
                    Problem(
                        f"site {settings.site_url}",
                        "does not exist (or the app cannot see it)",
                        "check KCPF_SP_SITE_URL: it is the site's address, such as "
                        "https://tenant.sharepoint.com/sites/kcpf",
                    )
                )
            elif error.retry_after:  # throttled: it answered, and said when to come back
                problems.append(_unreachable(error))
            else:
                problems.append(
                    Problem(
                        f"site {settings.site_url}",
                        f"could not be reached ({error.message})",
                        "check KCPF_GRAPH_BASE_URL and the network, then try again",
                    )
                )
            return None

    def _check_app_roles(self, problems: list[Problem], notes: list[str]) -> None:
        roles = self.graph.app_roles()
        if roles is None:
            notes.append("the app's permissions could not be read from its token")
            return
        broad = sorted(BROAD_ROLES & set(roles))
        if broad:
            problems.append(
                Problem(
                    "app permissions",
                    f"the app holds {', '.join(broad)}, which reaches every site in the tenant",
                    "remove it from the app registration; keep only Sites.Selected, granted on the KCPF site",
                )
            )
        elif "Sites.Selected" in roles:
            notes.append("the app holds Sites.Selected only")

    def _check_grant(self, problems: list[Problem], notes: list[str]) -> None:
        settings = self.graph.settings
        try:
            grants = self.graph.get_all(f"/sites/{self.graph.site_id()}/permissions")
        except GraphError as error:
            if error.status != 403:
                raise
            notes.append(
                "the site's permissions could not be listed (that needs Sites.FullControl.All, which KCPF "
                "should not hold); `kcpf sharepoint provision` proves the write grant by using it"
            )
            return
        mine = [g for g in grants if settings.client_id in _granted_apps(g)]
        roles = {r.lower() for g in mine for r in g.get("roles") or []}
        if not mine:
            problems.append(
                Problem(
                    "site permission",
                    "the app has no grant on the site",
                    _grant_fix(self.graph.site_id(), settings.client_id),
                )
            )
        elif not roles & WRITE_ROLES:
            problems.append(
                Problem(
                    "site permission",
                    f"the app's grant on the site is {', '.join(sorted(roles)) or 'empty'}, not write",
                    'a SharePoint administrator changes the grant\'s roles to ["write"]',
                )
            )
        else:
            notes.append(f"the app's grant on the site: {', '.join(sorted(roles))}")

    def _lists(self) -> dict[str, dict[str, Any]]:
        return {
            str(x.get("displayName", "")).lower(): x
            for x in self.graph.get_all(f"/sites/{self.graph.site_id()}/lists")
        }

    def _columns(self, found: dict[str, Any]) -> dict[str, dict[str, Any]]:
        path = f"/sites/{self.graph.site_id()}/lists/{found['id']}/columns"
        return {str(c["name"]): c for c in self.graph.get_all(path)}

    def _list_problems(self, wanted: ListSchema, found: dict[str, Any]) -> list[Problem]:
        template = (found.get("list") or {}).get("template", wanted.template)
        where = f"{_kind(wanted)} “{wanted.display_name}”"
        if template != wanted.template:
            return [
                Problem(
                    where,
                    f"is a {template}, not a {wanted.template}",
                    "rename or remove that list in SharePoint, then run `kcpf sharepoint provision`",
                )
            ]
        problems = []
        columns = self._columns(found)
        for column in wanted.columns:
            have = columns.get(column.name)
            if have is None:
                problems.append(
                    Problem(
                        f"{where}, column {column.name} ({column.display_name})",
                        "is missing",
                        "run `kcpf sharepoint provision` to add it",
                    )
                )
                continue
            for issue in column.problems(have):
                problems.append(
                    Problem(
                        f"{where}, column {column.name} ({column.display_name})", issue, _fix(column, issue)
                    )
                )
        return problems

    def _create_list(
        self, wanted: ListSchema, problems: list[Problem], changes: list[str]
    ) -> dict[str, Any] | None:
        try:
            created = self.graph.post(f"/sites/{self.graph.site_id()}/lists", wanted.definition())
        except GraphError as error:
            problems.append(_write_problem(f"{_kind(wanted)} “{wanted.display_name}”", error))
            return None
        changes.append(
            f"created the {_kind(wanted)} “{wanted.display_name}” with {len(wanted.columns)} columns"
        )
        return created

    def _provision_column(
        self,
        wanted: ListSchema,
        found: dict[str, Any],
        column: Column,
        have: dict[str, Any] | None,
        problems: list[Problem],
        changes: list[str],
    ) -> None:
        where = f"{_kind(wanted)} “{wanted.display_name}”, column {column.name} ({column.display_name})"
        base = f"/sites/{self.graph.site_id()}/lists/{found['id']}/columns"
        try:
            if have is None:
                self.graph.post(base, column.definition())
                changes.append(f"added {where}")
                return
            issues = column.problems(have)
            if not issues:
                return
            unfixable = [i for i in issues if not i.startswith(("must be indexed", "lacks the choice"))]
            if unfixable:  # changing a column's type could lose what is in it: an administrator decides
                problems.extend(Problem(where, i, _fix(column, i)) for i in unfixable)
                return
            patch: dict[str, Any] = {}
            if column.indexed and not have.get("indexed"):
                patch["indexed"] = True
            if column.type == "choice":
                present = list((have.get("choice") or {}).get("choices") or [])
                missing = [label for _, label in column.choices if label not in present]
                if missing:
                    patch["choice"] = {"choices": present + missing}
            if patch:
                self.graph.patch(f"{base}/{have['id']}", patch)
                done = []
                if "indexed" in patch:
                    done.append("indexed")
                if "choice" in patch:
                    done.append(
                        "added the choice(s) " + ", ".join(patch["choice"]["choices"][len(present) :])
                    )
                changes.append(f"{where}: {' and '.join(done)}")
        except GraphError as error:
            problems.append(_write_problem(where, error))


_NO_CERTIFICATE = (
    "SharePoint's own API, which makes list views and column formatting (Microsoft Graph cannot), accepts an "
    "app only when it signs in with a certificate, and KCPF_SP_CLIENT_SECRET is a client secret"
)


def _no_certificate(done: str) -> str:
    return f"views and column formatting not {done}: {_NO_CERTIFICATE}. What to do: {_NO_CERTIFICATE_FIX}"


_NO_CERTIFICATE_FIX = (
    "give the app a certificate (upload it to the app registration; set "
    "KCPF_SP_CERTIFICATE_PATH instead of KCPF_SP_CLIENT_SECRET) and run `kcpf sharepoint provision` "
    "again, or have a site owner create the views and column formatting by hand as "
    "manifests/sharepoint/views.json describes them. The lists, library and columns are done"
)


def _formatter(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text.strip() else None
    except json.JSONDecodeError:
        return None


def _rest_problem(where: str, error: GraphError) -> Problem:
    if error.status == 401 or error.code == "authFailed":
        return Problem(
            f"{where}: views and column formatting",
            f"SharePoint refused the app's sign-in ({error.message}); its own API accepts an app only when "
            "it signs in with a certificate uploaded to the app registration",
            _NO_CERTIFICATE_FIX,
        )
    if error.status == 403:
        return Problem(
            f"{where}: views and column formatting",
            "the app may not use SharePoint's own API on the site",
            "in the app registration's API permissions add Office 365 SharePoint Online's Sites.Selected "
            "application permission (next to Microsoft Graph's) and grant admin consent; the site's write "
            "grant covers both. Then run `kcpf sharepoint provision` again",
        )
    if error.retry_after or error.status in {429, 502, 503, 504}:
        return _unreachable(error)
    return Problem(
        f"{where}: views and column formatting",
        f"could not be made ({error.status} {error.message})",
        "run `kcpf sharepoint provision` again; if it persists, check KCPF_SP_REST_URL",
    )


def _unreachable(error: GraphError) -> Problem:
    when = f"after {error.retry_after:.0f} seconds, as it asked" if error.retry_after else "in a few minutes"
    return Problem(
        "SharePoint",
        f"stopped answering part-way ({error.message})",
        f"try again {when}; what was already done stays done",
    )


def _grant_fix(site_id: str, client_id: str) -> str:
    grant = {
        "roles": ["write"],
        "grantedToIdentities": [{"application": {"id": client_id, "displayName": "KCPF"}}],
    }
    return (
        "a SharePoint administrator (with Sites.FullControl.All) grants it write on the site: "
        f"POST /sites/{site_id}/permissions with {json.dumps(grant)}"
    )


def _kind(wanted: ListSchema) -> str:
    return "library" if wanted.template == "documentLibrary" else "list"


def _fix(column: Column, issue: str) -> str:
    if issue.startswith("is a ") or issue.startswith("must be multi") or issue.startswith("must be single"):
        return (
            f"in SharePoint, rename the existing column {column.name} (its data stays) and run "
            "`kcpf sharepoint provision` to create it as KCPF needs it"
        )
    if issue.startswith("must show"):
        shown = "the date only" if column.type == "date" else "date and time"
        return f"in the list settings, set {column.display_name} to show {shown}"
    return "run `kcpf sharepoint provision`"


def _write_problem(where: str, error: GraphError) -> Problem:
    if error.status == 403:
        return Problem(
            where,
            "the app may not change the site",
            "the app's grant on the site must be write: a SharePoint administrator changes it",
        )
    return Problem(where, f"could not be changed ({error.message})", "run `kcpf sharepoint provision` again")


def _granted_apps(grant: dict[str, Any]) -> set[str]:
    identities = list(grant.get("grantedToIdentitiesV2") or []) + list(grant.get("grantedToIdentities") or [])
    return {
        str((i.get("application") or {}).get("id"))
        for i in identities
        if isinstance(i, dict) and i.get("application")
    }
