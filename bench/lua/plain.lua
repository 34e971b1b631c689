-- One fixed GET, with no Lua per request (wrk sends its static request), so the load
-- generator is as cheap as it can be: the hello ceiling (figure 1h) and the KV read it is
-- compared with both use it, and both are then bound by the server core, not by wrk.
-- wrk ... -s plain.lua URL -- TOKEN PATH
local common = require("common")
setup = common.setup
done = common.done

function init(args)
  wrk.method = "GET"
  wrk.path = args[2]
  wrk.headers["X-Vault-Token"] = args[1]
end
