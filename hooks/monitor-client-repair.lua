-- A monitor policy: drift in client VPCs (VPCs without a cluster server)
-- is repaired, anything else fails the monitor so the cluster reacts.

local function server_vpcs(ctx)
  local vpcs = {}
  for _, server in ipairs(ctx.servers) do
    vpcs[server.vpc] = true
  end
  return vpcs
end

return {
  on_monitor_fail = function(ctx)
    if #ctx.api_errors > 0 then
      tgw.warn("AWS reads failed:", #ctx.api_errors)
      return "fail"
    end

    local servers = server_vpcs(ctx)
    for _, drift in ipairs(ctx.drift) do
      if drift.kind ~= "vpc" or servers[drift.owner] or drift.table == "" then
        tgw.error("drift outside client VPCs:", drift.owner, drift.table, drift.actual or "missing")
        return "fail"
      end
    end
    tgw.info("repairing", #ctx.drift, "client VPC route(s)")
    return "repair"
  end,
}
