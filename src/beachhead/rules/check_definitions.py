"""The loader's checks of definitions: scores, PQLs, touch, stages, teams, routing, alerts,
plans, and the file as a whole (``DefinitionChecks.config``)."""

from __future__ import annotations

from typing import Any

from beachhead.rules.check_conditions import ConditionChecks
from beachhead.rules.check_shapes import KEY_RE, join, type_name
from beachhead.rules.diagnostics import Diagnostic
from beachhead.rules.model import (
    Alert,
    AlertOn,
    Assign,
    Bands,
    Config,
    Level,
    Motion,
    Pql,
    Rep,
    RoutingRule,
    Score,
    ScoreRule,
    SlackTarget,
    Stage,
    Team,
    Touch,
    TouchRule,
    WebhookTarget,
)
from beachhead.rules.yamltree import Y


class DefinitionChecks(ConditionChecks):
    # -- definitions ----------------------------------------------------------------

    def scores(self, node: Y) -> dict[str, Score]:
        if not node.is_map:
            self.error(
                node, "scores", f"expected a mapping of score names, got {type_name(node.value)}"
            )
            return {}
        # first pass: names, levels, bands, so rules can refer to any score
        for name, snode in node.value.items():
            lvl = None
            if snode.is_map and "level" in snode.value:
                v = snode.value["level"].value
                lvl = Level(v) if v in ("user", "account") else None
            self.score_levels[name] = lvl
            self.score_bands[name] = snode.is_map and "bands" in snode.value
        out: dict[str, Score] = {}
        for name, snode in node.value.items():
            path = f"scores.{name}"
            if not KEY_RE.match(name):
                self.error(
                    snode,
                    path,
                    f"expected a score name of lowercase letters, digits and _ (got {name!r})",
                    at_key=True,
                )
                continue
            score = self.score(name, snode, path)
            if score is not None:
                out[name] = score
        self.check_score_cycles()
        return out

    def score(self, name: str, node: Y, path: str) -> Score | None:
        f = self.mapping(node, path, ("name", "description", "level", "rules", "bands"), ("level",))
        if f is None:
            return None
        ok = True
        level = self.enum(f["level"], join(path, "level"), Level) if "level" in f else None
        ok &= level is not None
        title = self.string(f["name"], join(path, "name")) if "name" in f else None
        rules: list[ScoreRule] = []
        self._current_score = name
        if "rules" in f:
            items = self.seq(f["rules"], join(path, "rules"), "a list of {points, when} rules")
            ok &= items is not None
            for i, item in enumerate(items or []):
                rpath = join(path, f"rules[{i}]")
                rf = self.mapping(item, rpath, ("points", "when"), ("points", "when"))
                if rf is None or "points" not in rf or "when" not in rf:
                    ok = False
                    continue
                points = self.number(rf["points"], join(rpath, "points"))
                when = self.condition(rf["when"], path, f"rules[{i}].when", level)
                if points is None or when is None:
                    ok = False
                    continue
                rules.append(ScoreRule(points=points, when=when))
        self._current_score = None
        bands = None
        if "bands" in f:
            bands = self.bands(f["bands"], join(path, "bands"))
            ok &= bands is not None
        if not ok or level is None:
            return None
        return Score(key=name, name=title, level=level, rules=tuple(rules), bands=bands)

    def bands(self, node: Y, path: str) -> Bands | None:
        f = self.mapping(node, path, ("high", "medium"))
        if f is None:
            return None
        if not f:
            self.error(node, path, "expected at least one of high, medium", at_key=True)
            return None
        high = self.number(f["high"], join(path, "high")) if "high" in f else None
        medium = self.number(f["medium"], join(path, "medium")) if "medium" in f else None
        if ("high" in f and high is None) or ("medium" in f and medium is None):
            return None
        if high is not None and medium is not None and medium > high:
            self.error(
                f["medium"], join(path, "medium"), f"medium ({medium}) is above high ({high})"
            )
            return None
        return Bands(high=high, medium=medium)

    def check_score_cycles(self) -> None:
        graph: dict[str, list[tuple[str, Y, str]]] = {}
        for src, dst, node, path in self.score_refs:
            graph.setdefault(src, []).append((dst, node, path))
        state: dict[str, int] = {}  # 1 visiting, 2 done
        reported: set[str] = set()

        def visit(n: str, trail: list[str]) -> None:
            state[n] = 1
            for dst, node, path in graph.get(n, []):
                if state.get(dst) == 1:
                    cycle = [*trail[trail.index(dst) :], dst] if dst in trail else [n, dst]
                    key = "->".join(sorted(set(cycle)))
                    if key not in reported:
                        reported.add(key)
                        self.error(
                            node,
                            path,
                            f"scores refer to each other in a cycle: {' -> '.join(cycle)}",
                        )
                elif state.get(dst) is None:
                    visit(dst, [*trail, dst])
            state[n] = 2

        for start in list(graph):
            if start not in state:
                visit(start, [start])

    def touch_rules(self, node: Y, path: str, level: Level | None) -> tuple[TouchRule, ...] | None:
        items = self.seq(node, path, "a list of {level, when} touch rules")
        if items is None:
            return None
        out: list[TouchRule] = []
        ok = True
        for i, item in enumerate(items):
            tpath = f"{path}[{i}]"
            f = self.mapping(item, tpath, ("level", "when"), ("level",))
            if f is None:
                ok = False
                continue
            lvl = self.enum(f["level"], join(tpath, "level"), Touch) if "level" in f else None
            when = None
            if "when" in f:
                when = self.condition(f["when"], "", f"touch[{i}].when", level)
                ok &= when is not None
            elif i < len(items) - 1:
                self.error(
                    item,
                    tpath,
                    "only the last touch rule may leave out 'when' (the rules after it "
                    "could never apply)",
                )
                ok = False
            if lvl is None:
                ok = False
                continue
            out.append(TouchRule(level=lvl, when=when))
        return tuple(out) if ok else None

    def pqls(self, node: Y) -> tuple[Pql, ...]:
        items = self.seq(node, "pqls", "a list of PQL definitions")
        out: list[Pql] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"pqls[{i}]"
            f = self.mapping(
                item,
                path,
                (
                    "key",
                    "name",
                    "description",
                    "motion",
                    "level",
                    "priority",
                    "when",
                    "touch",
                    "expires_after",
                    "cooldown",
                ),
                ("key", "level", "when"),
            )
            if f is None:
                continue
            ok = True
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            level = self.enum(f["level"], join(path, "level"), Level) if "level" in f else None
            ok &= key is not None and level is not None
            name = self.string(f["name"], join(path, "name")) if "name" in f else key
            desc = (
                self.string(f["description"], join(path, "description"))
                if "description" in f
                else None
            )
            motion = (
                self.enum(f["motion"], join(path, "motion"), Motion)
                if "motion" in f
                else Motion.CUSTOM
            )
            priority = self.integer(f["priority"], join(path, "priority")) if "priority" in f else 0
            ok &= name is not None and motion is not None and priority is not None
            if "description" in f:
                ok &= desc is not None
            when = self.condition(f["when"], path, "when", level) if "when" in f else None
            ok &= when is not None
            touch: tuple[TouchRule, ...] | None = ()
            if "touch" in f:
                touch = self.touch_rules_at(f["touch"], path, level)
                ok &= touch is not None
            expires = (
                self.duration(f["expires_after"], join(path, "expires_after"))
                if "expires_after" in f
                else None
            )
            cooldown = (
                # 0d: no cooldown (a new one may follow at the next evaluation)
                self.duration(f["cooldown"], join(path, "cooldown"), allow_zero=True)
                if "cooldown" in f
                else None
            )
            ok &= ("expires_after" not in f or expires is not None) and (
                "cooldown" not in f or cooldown is not None
            )
            if not ok:
                continue
            assert key and level and name and motion and when is not None and priority is not None
            kwargs: dict[str, Any] = {}
            if expires is not None:
                kwargs["expires_after"] = expires
            if cooldown is not None:
                kwargs["cooldown"] = cooldown
            out.append(
                Pql(
                    key=key,
                    name=name,
                    description=desc,
                    motion=motion,
                    level=level,
                    priority=priority,
                    when=when,
                    touch=touch or (),
                    **kwargs,
                )
            )
        self.unique_keys(keys, lambda j: f"pqls[{index_of[j]}].key")
        return tuple(out)

    def touch_rules_at(
        self, node: Y, base: str, level: Level | None
    ) -> tuple[TouchRule, ...] | None:
        # conditions inside touch rules get paths relative to the PQL ("touch[0].when")
        saved = self.diags
        self.diags = []
        result = self.touch_rules(node, "touch", level)
        for d in self.diags:
            saved.append(Diagnostic(d.file, d.line, d.column, join(base, d.path), d.message))
        self.diags = saved
        return result

    def stages(self, node: Y) -> tuple[Stage, ...]:
        items = self.seq(node, "stages", "a list of journey stages")
        out: list[Stage] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"stages[{i}]"
            f = self.mapping(item, path, ("key", "name", "description", "when"), ("key", "when"))
            if f is None:
                continue
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            name = self.string(f["name"], join(path, "name")) if "name" in f else key
            when = self.condition(f["when"], path, "when", Level.ACCOUNT) if "when" in f else None
            if key and name and when is not None:
                out.append(Stage(key=key, name=name, when=when))
        self.unique_keys(keys, lambda j: f"stages[{index_of[j]}].key")
        return tuple(out)

    def teams(self, node: Y) -> tuple[Team, ...]:
        items = self.seq(node, "teams", "a list of teams")
        out: list[Team] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"teams[{i}]"
            f = self.mapping(
                item, path, ("key", "name", "assign", "capacity", "reps"), ("key", "reps")
            )
            if f is None:
                continue
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            name = self.string(f["name"], join(path, "name")) if "name" in f else None
            assign = (
                self.enum(f["assign"], join(path, "assign"), Assign)
                if "assign" in f
                else Assign.ROUND_ROBIN
            )
            capacity = (
                self.integer(f["capacity"], join(path, "capacity"), minimum=1)
                if "capacity" in f
                else None
            )
            reps = self.reps(f["reps"], join(path, "reps")) if "reps" in f else None
            ok = key is not None and assign is not None and reps is not None
            ok &= ("capacity" not in f or capacity is not None) and (
                "name" not in f or name is not None
            )
            if ok:
                assert key and assign and reps is not None
                out.append(Team(key=key, name=name, assign=assign, capacity=capacity, reps=reps))
        self.unique_keys(keys, lambda j: f"teams[{index_of[j]}].key")
        return tuple(out)

    def reps(self, node: Y, path: str) -> tuple[Rep, ...] | None:
        items = self.seq(node, path, "a list of reps ({email: ...})")
        if items is None:
            return None
        out: list[Rep] = []
        ok = True
        emails: dict[str, int] = {}
        for i, item in enumerate(items):
            rpath = f"{path}[{i}]"
            f = self.mapping(item, rpath, ("email", "name", "slack", "weight", "away"), ("email",))
            if f is None or "email" not in f:
                ok = False
                continue
            email = self.string(f["email"], join(rpath, "email"), "an email address")
            if email is not None and "@" not in email:
                self.error(
                    f["email"], join(rpath, "email"), f"expected an email address, got {email!r}"
                )
                email = None
            if email is not None:
                if email.lower() in emails:
                    self.error(
                        f["email"],
                        join(rpath, "email"),
                        f"duplicate rep '{email}' (already {path}[{emails[email.lower()]}])",
                    )
                    email = None
                else:
                    emails[email.lower()] = i
            name = self.string(f["name"], join(rpath, "name")) if "name" in f else None
            slack = self.string(f["slack"], join(rpath, "slack")) if "slack" in f else None
            weight = (
                self.integer(f["weight"], join(rpath, "weight"), minimum=1) if "weight" in f else 1
            )
            away = self.boolean(f["away"], join(rpath, "away")) if "away" in f else False
            if email is None or weight is None or away is None:
                ok = False
                continue
            if ("name" in f and name is None) or ("slack" in f and slack is None):
                ok = False
                continue
            out.append(Rep(email=email, name=name, slack=slack, weight=weight, away=away))
        return tuple(out) if ok else None

    def routing(self, node: Y, team_keys: set[str]) -> tuple[RoutingRule, ...]:
        items = self.seq(node, "routing", "a list of {when, team} rules")
        out: list[RoutingRule] = []
        for i, item in enumerate(items or []):
            path = f"routing[{i}]"
            f = self.mapping(item, path, ("when", "team"), ("team",))
            if f is None:
                continue
            team = self.string(f["team"], join(path, "team"), "a team key") if "team" in f else None
            if team is not None and team not in team_keys:
                known = ", ".join(sorted(team_keys)) or "no teams are defined"
                self.error(f["team"], join(path, "team"), f"unknown team '{team}' (teams: {known})")
                team = None
            when = None
            if "when" in f:
                when = self.condition(f["when"], path, "when", None)
                if when is None:
                    continue
            elif i < len(items or []) - 1:
                self.error(
                    item,
                    path,
                    "only the last routing rule may leave out 'when' (the rules after it "
                    "could never apply)",
                )
                continue
            if team is not None:
                out.append(RoutingRule(when=when, team=team))
        return tuple(out)

    def alerts(self, node: Y, pql_keys: set[str]) -> tuple[Alert, ...]:
        items = self.seq(node, "alerts", "a list of alerts")
        out: list[Alert] = []
        for i, item in enumerate(items or []):
            path = f"alerts[{i}]"
            f = self.mapping(
                item, path, ("name", "on", "pqls", "touch", "slack", "webhook", "bundle"), ("on",)
            )
            if f is None:
                continue
            ok = True
            on = self.enum(f["on"], join(path, "on"), AlertOn) if "on" in f else None
            ok &= on is not None
            pqls: tuple[str, ...] | None = None
            if "pqls" in f:
                pitems = self.seq(f["pqls"], join(path, "pqls"), "a list of PQL keys")
                ok &= pitems is not None
                got: list[str] = []
                for j, p in enumerate(pitems or []):
                    k = self.string(p, join(path, f"pqls[{j}]"), "a PQL key")
                    if k is not None and k not in pql_keys:
                        known = ", ".join(sorted(pql_keys)) or "none are defined"
                        self.error(
                            p, join(path, f"pqls[{j}]"), f"unknown PQL '{k}' (PQLs: {known})"
                        )
                        k = None
                    if k is None:
                        ok = False
                    else:
                        got.append(k)
                pqls = tuple(got)
            touch: tuple[Touch, ...] | None = None
            if "touch" in f:
                titems = self.seq(f["touch"], join(path, "touch"), "a list of touch levels")
                ok &= titems is not None
                tl = [
                    self.enum(t, join(path, f"touch[{j}]"), Touch)
                    for j, t in enumerate(titems or [])
                ]
                ok &= all(t is not None for t in tl)
                touch = tuple(t for t in tl if t is not None)
            slack = webhook = None
            if "slack" in f and "webhook" in f:
                self.error(
                    f["webhook"],
                    join(path, "webhook"),
                    "an alert has one target: slack or webhook (write two alerts for both)",
                    at_key=True,
                )
                ok = False
            elif "slack" in f:
                sf = self.mapping(
                    f["slack"], join(path, "slack"), ("webhook_url",), ("webhook_url",)
                )
                url = (
                    self.string(sf["webhook_url"], join(path, "slack.webhook_url"), "a URL")
                    if sf and "webhook_url" in sf
                    else None
                )
                ok &= url is not None
                slack = SlackTarget(webhook_url=url) if url else None
            elif "webhook" in f:
                wf = self.mapping(f["webhook"], join(path, "webhook"), ("url", "secret"), ("url",))
                url = (
                    self.string(wf["url"], join(path, "webhook.url"), "a URL")
                    if wf and "url" in wf
                    else None
                )
                secret = (
                    self.string(wf["secret"], join(path, "webhook.secret"))
                    if wf and "secret" in wf
                    else None
                )
                ok &= url is not None and (not wf or "secret" not in wf or secret is not None)
                webhook = WebhookTarget(url=url, secret=secret) if url else None
            else:
                self.error(
                    item,
                    path,
                    "an alert needs a target: slack: {webhook_url: ...} or webhook: {url: ...}",
                )
                ok = False
            bundle = None
            if "bundle" in f:
                bundle = self.duration(f["bundle"], join(path, "bundle"))
                ok &= bundle is not None
            if ok and on is not None:
                out.append(
                    Alert(
                        name=self.string(f["name"], join(path, "name")) if "name" in f else None,
                        on=on,
                        pqls=pqls,
                        touch=touch,
                        slack=slack,
                        webhook=webhook,
                        bundle=bundle,
                    )
                )
        return tuple(out)

    def plans(self, node: Y) -> tuple[str, ...] | None:
        items = self.seq(node, "plans", "a list of plan names, lowest first")
        if items is None:
            return None
        out: list[str] = []
        for i, item in enumerate(items):
            s = self.string(item, f"plans[{i}]", "a plan name")
            if s is None:
                return None
            if s in out:
                self.error(item, f"plans[{i}]", f"duplicate plan '{s}'")
                return None
            out.append(s)
        if not out:
            self.error(node, "plans", "expected at least one plan", at_key=True)
            return None
        return tuple(out)

    # -- the file -----------------------------------------------------------------

    def config(self, root: Y) -> Config | None:
        if root.is_map:  # top-level x-* keys are free (a place for YAML anchors)
            root = Y(
                {k: v for k, v in root.value.items() if not k.startswith("x-")},
                root.line,
                root.col,
                root.kline,
                root.kcol,
            )
        top = self.mapping(
            root,
            "",
            ("version", "scores", "pqls", "stages", "teams", "routing", "alerts", "plans"),
            what="a mapping with version, scores, pqls, stages, teams, routing, alerts",
        )
        if top is None:
            return None
        # a section left empty (``teams:`` with its items commented out) means none
        top = {k: v for k, v in top.items() if v.value is not None or k == "version"}
        if "version" in top and top["version"].value != 1:
            self.error(
                top["version"],
                "version",
                f"expected version: 1, got {type_name(top['version'].value)}",
            )
        scores = self.scores(top["scores"]) if "scores" in top else {}
        pqls = self.pqls(top["pqls"]) if "pqls" in top else ()
        stages = self.stages(top["stages"]) if "stages" in top else ()
        teams = self.teams(top["teams"]) if "teams" in top else ()
        team_keys = set()
        if "teams" in top and top["teams"].is_seq:
            for t in top["teams"].value:
                if t.is_map and "key" in t.value and isinstance(t.value["key"].value, str):
                    team_keys.add(t.value["key"].value)
        routing = self.routing(top["routing"], team_keys) if "routing" in top else ()
        pql_keys = set()
        if "pqls" in top and top["pqls"].is_seq:
            for p in top["pqls"].value:
                if p.is_map and "key" in p.value and isinstance(p.value["key"].value, str):
                    pql_keys.add(p.value["key"].value)
        alerts = self.alerts(top["alerts"], pql_keys) if "alerts" in top else ()
        plans = self.plans(top["plans"]) if "plans" in top else None
        if self.diags:
            return None
        kwargs: dict[str, Any] = {}
        if plans is not None:
            kwargs["plans"] = plans
        return Config(
            scores=scores,
            pqls=pqls,
            stages=stages,
            teams=teams,
            routing=routing,
            alerts=alerts,
            **kwargs,
        )
