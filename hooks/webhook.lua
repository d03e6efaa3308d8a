-- Posts the result of every start as JSON to a webhook with curl.
--
-- The URL comes from the TGW_VIP_WEBHOOK_URL environment variable; without
-- it the hook does nothing.

return {
  post_activate = function(ctx)
    local url = tgw.env("TGW_VIP_WEBHOOK_URL")
    if url == nil or url == "" then
      tgw.debug("TGW_VIP_WEBHOOK_URL is not set; no notification sent")
      return
    end

    local failed = 0
    for _, route in ipairs(ctx.routes) do
      if route.result == "failed" or route.result == "not_read" then
        failed = failed + 1
      end
    end
    local body = tgw.json_encode {
      event = tgw.clp.event or "start",
      host = tgw.hostname(),
      server = ctx.server.name,
      vips = ctx.vips,
      exit_code = ctx.exit_code,
      routes = #ctx.routes,
      failed = failed,
      elapsed_ms = ctx.elapsed_ms,
    }

    local result = tgw.run("curl", {
      "--silent", "--show-error", "--fail", "--max-time", "5",
      "--header", "Content-Type: application/json",
      "--data-binary", body, url,
    }, { timeout = 8 })
    if result.status ~= 0 then
      tgw.warn("webhook failed:", result.status or "timed out", result.stderr)
    end
  end,
}
