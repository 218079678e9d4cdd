-- Rules of flows/customer_service.yaml.

-- Counts the bot's answers a customer marked as unhelpful, on the contact, and returns the
-- count so far. `args.answer` is the button id or what the customer typed.
function note_unhelpful(args)
  local answer = text.normalize(tostring(args.answer or ""))
  local count = tonumber(contact.attributes.unhelpful) or 0
  if answer == "tidak membantu" or answer == "tidak" or answer == "nggak" or answer == "gak" then
    count = count + 1
    contact.set("unhelpful", count)
  end
  return count
end
