-- Rules of flows/lead_qualification.yaml.

-- Days from now to a "YYYY-MM-DD" date (negative when it has passed).
local function days_until(date)
  local y, m, d = string.match(date or "", "^(%d+)-(%d+)-(%d+)$")
  if not y then
    return nil
  end
  local now = time.date("Asia/Jakarta")
  local function day_number(year, month, day)
    -- Days since 1970-01-01 of a Gregorian date (Howard Hinnant's days_from_civil).
    year = month <= 2 and year - 1 or year
    local era = (year >= 0 and year or year - 399) // 400
    local yoe = year - era * 400
    local doy = (153 * (month + (month > 2 and -3 or 9)) + 2) // 5 + day - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
  end
  return day_number(tonumber(y), tonumber(m), tonumber(d)) - day_number(now.year, now.month, now.day)
end

-- Grades a catering lead: "hot" for a big event soon, "warm" for a big or a near event,
-- "cold" otherwise.
function grade_lead(args)
  local guests = tonumber(args.guests) or 0
  local days = days_until(args.event_date)
  local soon = days ~= nil and days >= 0 and days <= 60
  if guests >= 100 and soon then
    return "hot"
  elseif guests >= 100 or (soon and guests >= 30) then
    return "warm"
  end
  return "cold"
end
