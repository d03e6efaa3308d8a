-- Reports the result of every start to CLUSTERPRO with clplogcmd, so it
-- shows in the Cluster WebUI alert log. A failed route raises an ERR alert.

local function summary(ctx)
  local changed, failed = 0, {}
  for _, route in ipairs(ctx.routes) do
    if route.result == "changed" or route.result == "created" then
      changed = changed + 1
    elseif route.result == "failed" then
      failed[#failed + 1] = route.table .. " (" .. route.error.code .. ")"
    elseif route.result == "not_read" then
      failed[#failed + 1] = route.table .. " (not read)"
    end
  end
  return changed, failed
end

return {
  post_activate = function(ctx)
    local changed, failed = summary(ctx)
    local vips = table.concat(ctx.vips, ",")
    local level, text
    if ctx.exit_code == 0 and #failed == 0 then
      level = "INFO"
      text = string.format("tgw-vip: VIP %s now routes to %s (%d route(s) changed, %d ms)",
        vips, ctx.server.name, changed, ctx.elapsed_ms)
    else
      level = "ERR"
      text = string.format("tgw-vip: VIP %s switch to %s failed (exit %d): %s",
        vips, ctx.server.name, ctx.exit_code, table.concat(failed, ", "))
    end

    local result = tgw.run("clplogcmd", { "-m", text, "--alert", "-l", level }, { timeout = 10 })
    if result.status ~= 0 then
      tgw.warn("clplogcmd failed:", result.status, result.stderr)
    end
  end,
}
