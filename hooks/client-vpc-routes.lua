-- Routes the VIP from client VPCs that tgw-vip's config does not list.
--
-- Each client VPC route table gets a route for every VIP pointing at the
-- Transit Gateway of its region, created when missing. List the tables in
-- CLIENT_TABLES below, or in the TGW_VIP_CLIENT_TABLES environment variable
-- as comma-separated "region/vpc-id/rtb-id" entries.

local CLIENT_TABLES = {
  -- { region = "ap-northeast-1", vpc = "vpc-0123456789abcdef0", table = "rtb-0123456789abcdef0" },
}

local function from_environment()
  local tables = {}
  local text = tgw.env("TGW_VIP_CLIENT_TABLES") or ""
  for entry in string.gmatch(text, "[^,%s]+") do
    local region, vpc, table_id = string.match(entry, "^([^/]+)/([^/]+)/([^/]+)$")
    if not region then
      error("TGW_VIP_CLIENT_TABLES entry '" .. entry .. "' is not region/vpc-id/rtb-id")
    end
    tables[#tables + 1] = { region = region, vpc = vpc, table = table_id }
  end
  return tables
end

local function gateway_in(ctx, region)
  for _, gateway in ipairs(ctx.gateways) do
    if gateway.region == region then
      return gateway.id
    end
  end
  error("no Transit Gateway in region " .. region .. " in the config")
end

local function add_client_routes(ctx, tables)
  for _, client in ipairs(tables) do
    local gateway = gateway_in(ctx, client.region)
    for _, destination in ipairs(ctx.destinations) do
      ctx.add_route {
        region = client.region,
        vpc = client.vpc,
        table = client.table,
        destination = destination,
        target = gateway,
      }
      tgw.info("client table", client.table, "routes", destination, "to", gateway)
    end
  end
end

return {
  pre_activate = function(ctx)
    add_client_routes(ctx, CLIENT_TABLES)
    add_client_routes(ctx, from_environment())
  end,
}
