-- wrk script: POST the same login over and over (a login storm against one account).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login":"stormuser","password":"benchmark password"}'
