"""scripts/demo-mikros loads its data through the feed's endpoints, so the analytics answer from it."""
import os
import subprocess
from pathlib import Path

from harness import wait_for
from test_dispatch import new_key

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_loader_feeds_every_analytics_figure(stack, public):
    env = {**os.environ, "GUILDHALL_DIR": stack.dir, "GUILDHALL_CONFIG": stack.config,
           "GUILDHALL_ADMIN": str(Path(stack.bin_dir) / "guildhall-admin")}
    proc = subprocess.run(["/usr/bin/python3", REPO / "scripts" / "demo-mikros", "--small"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sessions 3000 over 90 days" in proc.stdout
    apps = stack.sql("SELECT count(*), count(DISTINCT genre) FROM mikros_apps WHERE app_id LIKE 'demo-%'")[0]
    assert apps[0] == 42 and apps[1] >= 12
    assert stack.sql("SELECT count(*) FROM mikros_sessions s JOIN mikros_apps a USING (app_id) "
                     "WHERE a.app_id LIKE 'demo-%'") == [(3000,)]
    key = new_key(stack, "mikros")
    h = {"Authorization": f"Bearer {key}"}
    for path in ("trending-genres", "trending-content-genres", "trending-gameplay-types", "popular-genres",
                 "popular-content-genres", "popular-content", "popular-gameplay-types"):
        r = public.get(f"/api/gamestats/{path}", params={"limit": 10}, headers=h)
        assert r.status_code == 200 and r.json()["data"], (path, r.text)
    users = public.get("/api/gamestats/total-users", headers=h).json()["data"]
    assert users["total_users"] > 0 and users["active_last_7d"] > 0
    rpg = public.get("/api/rpg/leaderboard", params={"server_id": "111111111111111111"}, headers=h).json()
    assert rpg["total_players"] > 0 and rpg["data"]
    assert public.get("/api/promotions/active", headers=h).json()["data"]
    board = public.get("/api/leaderboards/spelling", params={"server_id": "222222222222222222"}, headers=h).json()
    assert board["data"]["total_players"] > 0
    assert stack.sql("SELECT count(*) FROM scheduler_jobs WHERE job_kind = 'mikros.game_reset' "
                     "AND bot_config->>'server_id' = '333333333333333333'") == [(1,)]
    schedulers = public.get("/api/schedulers/status", params={"server_id": "222222222222222222"}, headers=h).json()
    assert {s["type"] for s in schedulers["data"]["schedulers"]} == {"game_reset", "monthly_report", "promotion_check"}

    def answered():   # the demo triggers each server's first game session
        r = public.get("/api/games/session-state", params={"server_id": "111111111111111111"}, headers=h)
        return r if r.status_code == 200 else None
    session = wait_for(answered, timeout=20, what="the demo's first game session").json()["data"]
    assert stack.sql("SELECT difficulty FROM mikros_words WHERE word = %s", session["word"]) == [("easy",)]
