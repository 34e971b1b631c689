-- GET one fixed path (e.g. a database credential) on every request.
-- wrk ... -s get.lua URL -- TOKEN PATH     requests: GET /v1/PATH
local common = require("common")
setup = common.setup
done = common.done

local req

function init(args)
  req = wrk.format("GET", "/v1/" .. args[2], { ["X-Vault-Token"] = args[1] })
end

function request()
  return req
end
