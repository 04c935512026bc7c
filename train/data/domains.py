"""The domains of the tool catalog, as compact tables: entities, actions, result words.

``catalog.py`` turns these into tools; the parameters they name are the fields of
``fields.py``. An entity is ``(noun, plural, fields, ops)``: fields are keys (``?`` optional on
create; the first one labels the entity in lists), ops the tool families it gets. An action is
``(name, description, intents, params, result)``: intents are verb phrases ("check the
weather", ``{field}`` slots take a bare value), params are field keys (``?`` optional), and the
result is ``name:kind`` pairs (``@pool`` for result-only words, ``=param`` to echo an argument,
``name:[...]`` or a whole spec in brackets for a list of such objects).
"""

# fmt: off
# (tables: one row per line, wider than the line length)
ENTITIES: dict[str, list[tuple]] = {
    "calendar": [
        ("event", "events", "title start duration? location? attendees? recurrence? reminder? all_day?", "get list create update delete search export share"),
        ("calendar", "calendars", "title visibility? tags?", "get list create update delete share"),
    ],
    "files": [("folder", "folders", "title tags?", "get list create update delete search share archive")],
    "weather": [("weather alert", "weather alerts", "city threshold email?", "get list create update delete")],
    "web": [("bookmark", "bookmarks", "title url tags?", "get list create update delete search")],
    "translation": [("glossary", "glossaries", "title language tags?", "get list create update delete")],
    "rides": [("ride", "rides", "from_address to_address ride_type? passengers?", "get list")],
    "finance": [
        ("transaction", "transactions", "title amount past_date category?", "get list create update delete search export"),
        ("invoice", "invoices", "title amount due company? note?", "get list create update delete search export"),
        ("budget", "budgets", "category amount month", "get list create update delete"),
    ],
    "travel": [("trip", "trips", "title destination_city date nights? budget?", "get list create update delete search share"),
               ("packing list", "packing lists", "title items", "get list create update delete")],
    "messaging": [("channel", "channels", "title members? private?", "get list create update delete search archive")],
    "smart_home": [("automation", "automations", "title device time recurrence?", "get list create update delete"),
                   ("scene", "scenes", "title device brightness?", "get list create update delete")],
    "health": [
        ("workout", "workouts", "workout_type duration past_date distance?", "get list create update delete search export"),
        ("medication", "medications", "title time recurrence? note?", "get list create update delete"),
        ("meal", "meals", "dish past_date weight? note?", "get list create update delete"),
    ],
    "shopping": [
        ("order", "orders", "title order_items address express?", "get list create delete search"),
        ("wishlist", "wishlists", "title items? public?", "get list create update delete share"),
        ("shipping address", "shipping addresses", "title address phone?", "get list create update delete"),
    ],
    "music": [("playlist", "playlists", "title tags? public?", "get list create update delete search share")],
    "email": [
        ("draft", "drafts", "subject to body cc?", "get list create update delete search"),
        ("email filter", "email filters", "label email important?", "list create update delete"),
    ],
    "contacts": [
        ("contact", "contacts", "name email? phone? company? birthday? address?", "get list create update delete search export"),
        ("contact group", "contact groups", "title members?", "get list create update delete"),
    ],
    "notes": [
        ("note", "notes", "title body? tags?", "get list create update delete search archive"),
        ("task", "tasks", "title due? priority? tags? assignee?", "get list create update delete search"),
        ("shopping list", "shopping lists", "title items", "get list create update delete share"),
    ],
    "news": [("news alert", "news alerts", "topic email? country?", "get list create update delete"),
             ("saved article", "saved articles", "title url tags?", "get list create delete search")],
    "sports": [("favorite team", "favorite teams", "team notify?", "list create delete")],
    "recipes": [("recipe", "recipes", "title ingredients servings? vegetarian?", "get list create update delete search share export"),
                ("meal plan", "meal plans", "title date dish servings?", "get list create update delete")],
    "hr": [
        ("employee", "employees", "name email department start#hire? phone?", "get list create update delete search export"),
        ("time off request", "time off requests", "date#leave nights#leave reason?", "get list create delete"),
        ("job opening", "job openings", "title department remote? budget?", "get list create update delete"),
    ],
    "code": [("issue", "issues", "title repo body? tags? assignee?", "get list create update delete search"),
             ("webhook", "webhooks", "url repo tags?", "get list create delete"),
             ("release", "releases", "version repo body? draft?", "get list create delete")],
    "cloud": [("dns record", "dns records", "url#dns region? note?", "get list create update delete"),
              ("secret", "secrets", "title service environment?", "get list create update delete"),
              ("alarm", "alarms", "title service threshold#cpu notify?", "get list create update delete")],
    "education": [
        ("course", "courses", "title topic? start? tags?", "get list create update delete search export"),
        ("assignment", "assignments", "title due body? rating#points?", "get list create update delete search"),
    ],
    "real_estate": [("listing", "listings", "title address price property_type bedrooms?", "get list create update delete search"),
                    ("viewing", "viewings", "when name phone?", "get list create update delete")],
    "social": [("post", "posts", "message tags? visibility? when?", "get list create update delete search archive")],
    "support": [("ticket", "tickets", "subject body email priority? tags?", "get list create update delete search export archive"),
                ("canned response", "canned responses", "title body tags?", "get list create update delete search")],
    "databases": [("database", "databases", "title region? compress?", "get list create update delete"),
                  ("backup", "backups", "title region? compress?", "get list create delete")],
    "maps": [("saved place", "saved places", "title address tags?", "get list create update delete search share")],
    "events": [("ticket order", "ticket orders", "title quantity date", "get list create delete")],
    "pets": [("pet", "pets", "name#pet date#pet_birthday? weight?", "get list create update delete"),
             ("vet appointment", "vet appointments", "when reason? location?", "list create delete")],
    "banking": [("payee", "payees", "name email? account?", "get list create update delete"),
                ("scheduled payment", "scheduled payments", "amount name date recurrence?", "get list create update delete")],
}


ACTIONS: dict[str, list[tuple]] = {
    "weather": [
        ("get_current_weather", "Get the current weather for a city.", "check the weather|get the current weather|look up the weather|tell me the weather", "city units?", "city:=city temperature:celsius condition:@condition humidity:percent"),
        ("get_forecast", "Get the daily weather forecast for a city.", "get the forecast|check the weather forecast|look up the forecast", "city days? units?", "city:=city forecast:[date:date high:celsius low:celsius condition:@condition]"),
        ("get_air_quality", "Get the air quality index for a city.", "check the air quality|get the air quality|look up the pollution level", "city", "city:=city aqi:level category:@aqi"),
        ("get_uv_index", "Get the UV index for a city on a date.", "get the UV index|check the UV level|look up the sun strength", "city date?", "uv_index:rating risk:@aqi"),
        ("get_historical_weather", "Get the weather observed on a past date.", "get the weather history|look up past weather|check what the weather was", "city past_date", "date:=past_date high:celsius low:celsius condition:@condition"),
        ("compare_weather", "Compare current temperatures across cities.", "compare the weather|compare temperatures", "cities units?", "[city:city temperature:celsius condition:@condition]"),
    ],
    "calendar": [
        ("find_free_slots", "Find free time slots on a date.", "find free time|look for an open slot|check when I'm free", "date duration? attendees?", "[start:datetime duration:minutes]"),
        ("respond_to_invitation", "Accept, decline or tentatively accept an invitation.", "{response} the invitation for event {event_id}|{response} the invite {event_id}|reply to the invitation {event_id} and {response} it", "event_id response note?", "status:@done event_id:=event_id"),
        ("set_reminder", "Set a reminder at a given time.", "set a reminder|remind me|create a reminder", "message when", "reminder_id:id:reminder status:@done"),
    ],
    "files": [
        ("read_file", "Read the text content of a file.", "read the file|open the file|show me the contents of", "file_path", "path:=file_path content:message size_bytes:level"),
        ("write_file", "Write text to a file.", "write to the file|save text to the file|put text into the file", "file_path text overwrite?", "path:=file_path status:@done"),
        ("move_file", "Move or rename a file.", "move the file|rename the file|relocate the file", "source target", "from:=source to:=target status:@done"),
        ("copy_file", "Copy a file to a new path.", "copy the file|duplicate the file|make a copy of", "source target overwrite?", "path:=target status:@done"),
        ("delete_file", "Delete a file.", "delete the file|remove the file|trash the file", "file_path", "path:=file_path deleted:@yes"),
        ("get_file_info", "Get size and modification date of a file.", "get info about the file|check the size of|look up details of", "file_path", "path:=file_path size_bytes:level modified:past_date"),
        ("search_files", "Search files by name or content.", "search my files|find files|look for files", "query limit?", "[path:path modified:past_date]"),
    ],
    "math": [
        ("calculate", "Evaluate an arithmetic expression.", "calculate|compute|work out|evaluate", "expression", "result:@calc"),
        ("convert_units", "Convert a value between units.", "convert|change units of", "value unit_from unit_to", "result:@convert unit:=unit_to"),
        ("compute_statistics", "Compute mean, median, min and max of numbers.", "compute statistics|get the average|summarize the numbers", "numbers", "mean:@mean median:@median min:@min max:@max"),
        ("solve_equation", "Solve a linear equation in x.", "solve the equation|find x in|solve for x in", "equation", "x:@solution"),
        ("percentage_of", "Compute a percentage of a value.", "work out {percent} percent of {value}|compute {percent}% of {value}|find {percent} percent of {value}", "percent value", "result:@percent_of"),
        ("random_number", "Pick a random integer in a range.", "pick a random number between {min} and {max}|generate a random number from {min} to {max}|roll a number between {min} and {max}", "min max", "value:level"),
    ],
    "finance": [
        ("get_stock_price", "Get the latest price of a stock.", "get the stock price|check the share price|look up the stock", "ticker", "ticker:=ticker price:amount change_percent:percent"),
        ("get_exchange_rate", "Get the exchange rate between two currencies.", "get the exchange rate|check the rate|look up the conversion rate", "from_currency to_currency", "rate:@rate"),
        ("convert_currency", "Convert an amount between currencies.", "convert {amount} {from_currency} to {to_currency}|change {amount} {from_currency} into {to_currency}|exchange {amount} {from_currency} for {to_currency}", "amount#plain from_currency to_currency", "converted:amount rate:@rate"),
        ("calculate_loan_payment", "Compute the monthly payment of a loan.", "calculate the loan payment|work out the monthly payment|compute the mortgage payment", "amount#principal rate years", "monthly_payment:amount total_interest:amount"),
        ("compare_stocks", "Compare several stocks.", "compare the stocks|compare share prices", "tickers", "[ticker:ticker price:amount change_percent:percent]"),
    ],
    "travel": [
        ("search_flights", "Search flights between two airports.", "search for flights|find flights|look for flights|check flights", "origin destination date passengers? cabin? round_trip?", "[flight_id:id:flight airline:@airline departure:time price:amount]"),
        ("book_flight", "Book a flight by its ID.", "book the flight|reserve the flight|buy a ticket for the flight", "flight_id passengers? cabin?", "booking_id:id:booking status:@confirmed"),
        ("search_hotels", "Search hotels in a city.", "find a hotel|search for hotels|look for a place to stay", "city check_in nights guests? price_range? min_rating?", "[hotel_id:id:hotel name:@hotel price_per_night:amount rating:rating]"),
        ("book_hotel", "Book a hotel room.", "book the hotel|reserve a room at the hotel|book a room at", "hotel_id check_in nights guests?", "booking_id:id:booking status:@confirmed"),
        ("get_flight_status", "Get the status of a flight.", "check the flight status|track the flight|see if the flight is on time", "flight_number date?", "flight:=flight_number status:@flight_status gate:@gate"),
        ("rent_car", "Rent a car in a city.", "rent a car|book a rental car|reserve a car", "city date nights#rental", "reservation_id:id:rental price:amount"),
    ],
    "messaging": [
        ("send_message", "Send a chat message to a person.", "send a message to {recipient}|message {recipient}|send {recipient} a chat message", "recipient message", "message_id:id:message status:@sent"),
        ("send_sms", "Send a text message to a phone number.", "send an SMS|text the number|send a text", "phone message", "status:@sent"),
        ("list_unread_messages", "List unread messages.", "show my unread messages|check my messages|list unread messages", "limit?", "[from:person preview:message]"),
        ("set_status", "Set your chat status.", "set my status|change my status|update my status", "message#status duration?", "status:@done"),
    ],
    "databases": [
        ("run_query", "Run a read-only SQL query.", "run the query|execute the SQL|query the database with", "sql limit?", "[id:level name:person]"),
        ("describe_table", "Show the columns of a table.", "describe the table|show the columns of|get the schema of", "table", "table:=table columns:@columns"),
        ("export_table", "Export a table to a file.", "export the table|dump the table|download the table", "table format? compress?", "file:@export rows:level"),
        ("delete_rows", "Delete rows of a table by their numeric IDs.", "delete the rows {ids} from {table}|remove rows {ids} from the {table} table|drop the rows {ids} in {table}", "table ids dry_run?", "table:=table deleted:level"),
        ("count_rows", "Count rows in a table.", "count the rows in|get the row count of|tell me how many rows are in", "table", "table:=table rows:level"),
    ],
    "smart_home": [
        ("set_light", "Turn a light on at a brightness.", "turn on the {device}|set the {device}|switch on the {device}", "device brightness?", "device:=device brightness:level"),
        ("set_thermostat", "Set the thermostat temperature and mode.", "set the thermostat|change the heating|adjust the temperature", "temperature heat_mode?", "target:=temperature mode:@done"),
        ("lock_door", "Lock a door lock.", "lock the {device}|secure the {device}|make sure the {device} is locked", "device", "device:=device locked:@yes"),
        ("get_device_status", "Get the state of a device.", "check the {device}|get the status of the {device}|see if the {device} is on", "device", "device:=device state:@on_off"),
        ("start_timer", "Start a kitchen timer.", "start a timer|set a timer|run a timer", "timer", "timer_id:id:timer status:@done"),
    ],
    "web": [
        ("search_web", "Search the web.", "search the web|search online|look up online", "query limit? safe_search?", "[title:topic url:url]"),
        ("fetch_page", "Fetch the text of a web page.", "fetch the page|read the web page|get the content of", "url", "url:=url title:topic text:message"),
        ("take_screenshot", "Take a screenshot of a web page.", "take a screenshot of|capture the page|screenshot", "url full_page?", "image:path"),
        ("check_website_status", "Check whether a website is up.", "check if {url} is up|ping {url}|check the status of {url}", "url", "url:=url status_code:@http latency_ms:level"),
        ("shorten_url", "Create a short link.", "shorten the link|make a short URL for|shorten", "url", "short_url:@short"),
    ],
    "health": [
        ("get_step_count", "Get the step count for a day.", "get my step count|check how many steps I walked|look up my steps", "past_date", "date:=past_date steps:@steps"),
        ("find_doctor", "Find doctors by specialty in a city.", "find a {specialty} in {city}|look for a {specialty} in {city}|search for a {specialty} near {city}", "specialty city", "[name:person clinic:company rating:rating]"),
        ("book_doctor_appointment", "Book an appointment with a doctor.", "book a doctor's appointment|schedule a visit with the doctor|make an appointment", "name#doctor when reason?", "appointment_id:id:appointment status:@confirmed"),
        ("log_water", "Log water intake.", "log {amount_ml} of water|record that I drank {amount_ml} of water|track {amount_ml} of water", "amount_ml", "total_today:level status:@done"),
    ],
    "shopping": [
        ("search_products", "Search the store for products.", "search for products|look for products|find products|browse the store", "query price_range? min_rating? order?", "[product_id:id:product name:product price:amount rating:rating]"),
        ("add_to_cart", "Add a product to the cart.", "add {product_id} to my cart|put {product_id} in the cart|add product {product_id} to the basket", "product_id quantity?", "cart_items:level status:@done"),
        ("track_order", "Track an order.", "track the order|check where the order is|get the delivery status of", "order_id", "order_id:=order_id status:@order_status eta:date"),
        ("get_product_reviews", "Get reviews of a product.", "get the reviews of|read reviews for|check what people say about", "product_id min_rating? limit?", "[rating:rating text:message]"),
    ],
    "music": [
        ("play_song", "Play a song.", "play|put on|start playing", "song artist? shuffle?", "now_playing:=song status:@playing"),
        ("search_music", "Search the music catalog.", "search for music|find music|look up songs", "query media_type? limit?", "[track_id:id:track title:song artist:artist]"),
        ("set_volume", "Set the playback volume.", "set the volume|change the volume|turn the volume", "volume", "volume:=volume"),
        ("add_to_playlist", "Add a song to a playlist.", "add {song} to playlist {playlist_id}|put {song} on the playlist {playlist_id}|save {song} to playlist {playlist_id}", "playlist_id song", "status:@done tracks:level"),
        ("get_lyrics", "Get the lyrics of a song.", "get the lyrics of|show me the lyrics for|find the words to", "song artist?", "song:=song lyrics:message"),
    ],
    "maps": [
        ("get_directions", "Get directions between two addresses.", "get directions|find the way|show me the route", "from_address to_address mode?", "distance_m:meters#out duration_min:minutes#out summary:@route"),
        ("find_nearby", "Find places of a type near coordinates.", "find a {place_type} nearby|look for a {place_type} near me|search for a {place_type}", "place_type coordinates radius?", "[name:company distance_m:level rating:rating]"),
        ("geocode", "Get the coordinates of an address.", "geocode the address|get the coordinates of|find the location of", "address", "lat:latitude lon:longitude"),
        ("get_traffic", "Get current traffic conditions in a city.", "check the traffic|get traffic conditions|see how the traffic is", "city", "city:=city congestion:@aqi delay_min:level"),
    ],
    "email": [
        ("send_email", "Send an email.", "send an email|shoot an email|write an email", "to subject body cc? important?", "message_id:id:email status:@sent"),
        ("search_emails", "Search the mailbox.", "search my emails|find emails|look through my inbox", "query after? unread_only? limit?", "[email_id:id:email subject:title from:email]"),
        ("reply_to_email", "Reply to an email.", "reply to the email|answer the email|respond to the email", "email_id body", "message_id:id:email status:@sent"),
        ("archive_email", "Archive an email.", "archive the email|file away the email|move the email to the archive", "email_id", "email_id:=email_id status:@done"),
    ],
    "news": [
        ("get_headlines", "Get the top headlines.", "get the headlines|show me the news|give me the latest news", "topic? country? limit?", "[title:topic source:company]"),
        ("search_news", "Search news articles.", "search the news|find news articles|look for news", "query after? language? limit?", "[article_id:id:article title:topic date:past_date]"),
        ("summarize_article", "Summarize a news article.", "summarize the article|give me a summary of the article|sum up the article", "article_id count#sentences?", "summary:message"),
    ],
    "sports": [
        ("get_scores", "Get the latest scores of a team.", "get the score|check the latest score|look up the result", "team date?", "team:=team opponent:team score:@score"),
        ("get_standings", "Get league standings.", "get the standings|show the table|check the league standings", "sport_league year?", "[team:team points:level]"),
        ("get_schedule", "Get a team's upcoming games.", "get the schedule|check when they play next|show the fixtures", "team month?", "[opponent:team date:date]"),
    ],
    "recipes": [
        ("find_recipes_by_ingredients", "Find recipes with given ingredients.", "find a recipe|search for recipes|look for something to cook", "ingredients vegetarian? duration#max?", "[recipe_id:id:recipe title:dish minutes:minutes]"),
        ("get_nutrition", "Get nutrition facts for a dish.", "get the nutrition facts|check the calories|look up the nutrition", "dish weight?", "dish:=dish calories:@kcal protein_g:level"),
        ("order_food", "Order food for delivery.", "order {order_items}|get {order_items} delivered|order {order_items} for delivery", "order_items address express?", "order_id:id:order eta_min:minutes#out total:amount"),
        ("book_table", "Book a restaurant table.", "book a table|reserve a table|make a reservation", "name#restaurant when guests", "reservation_id:id:reservation status:@confirmed"),
        ("scale_recipe", "Scale a recipe to a number of servings.", "scale the recipe|adjust the recipe|resize the recipe", "recipe_id servings", "recipe_id:=recipe_id servings:=servings"),
    ],
    "translation": [
        ("translate_text", "Translate text into another language.", "translate|translate the text|give me a translation of", "text language source_language?", "translation:@translation"),
        ("detect_language", "Detect the language of a text.", "detect the language of|figure out what language this is|identify the language of", "text", "language:@lang confidence:percent"),
        ("define_word", "Get the dictionary definition of a word.", "define|look up the meaning of|get the definition of", "word#define language?", "word:=word definition:message"),
    ],
    "hr": [
        ("get_leave_balance", "Get remaining leave days of an employee.", "check the leave balance|get the remaining vacation days|look up the time off balance", "employee_id", "employee_id:=employee_id days_left:count"),
        ("approve_time_off", "Approve a time off request.", "approve the time off request|accept the leave request|sign off on the time off", "time_off_request_id note?", "status:@confirmed"),
    ],
    "code": [
        ("create_branch", "Create a git branch.", "create a branch {branch} in {repo}|make a new branch called {branch} in {repo}|add the branch {branch} to {repo}", "repo branch base#from?", "branch:=branch status:@done"),
        ("open_pull_request", "Open a pull request.", "open a pull request|create a PR|submit a pull request", "repo title branch#head base? draft?", "pr_number:page url:url"),
        ("merge_pull_request", "Merge a pull request.", "merge the pull request|merge the PR|land the PR", "repo pr_number merge_method?", "merged:@yes sha:@sha"),
        ("list_commits", "List recent commits on a branch.", "list the commits|show the recent commits|get the commit log", "repo branch? limit?", "[sha:@sha message:title author:person]"),
        ("get_file_contents", "Read a file from a repository.", "get the file|read the file from the repo|show me the source of", "repo file_path branch?", "path:=file_path content:message"),
    ],
    "cloud": [
        ("list_instances", "List virtual machines.", "list the instances|show the servers|list the VMs", "region? status#vm?", "[instance_id:id:instance state:@on_off]"),
        ("restart_instance", "Restart a virtual machine.", "restart the instance|reboot the server|restart the VM", "instance_id", "instance_id:=instance_id state:@on_off"),
        ("scale_service", "Change the number of replicas of a service.", "scale the service|scale|change the replica count of", "service replicas", "service:=service replicas:=replicas"),
        ("get_logs", "Fetch recent logs of a service.", "get the logs|show the logs|fetch the logs of", "service duration#since? log_level?", "[time:time level:@level message:message]"),
        ("deploy_app", "Deploy a version of a service.", "deploy|ship|roll out", "service version environment? dry_run?", "deployment_id:id:deployment status:@done"),
    ],
    "education": [
        ("enroll_student", "Enroll a student in a course.", "enroll {email} in course {course_id}|sign up {email} for course {course_id}|register {email} for course {course_id}", "course_id email", "status:@confirmed"),
        ("get_grades", "Get a student's grades.", "get the grades of {email}|check the grades for {email}|look up the marks of {email}", "email term?", "[course:topic grade:@grade]"),
        ("generate_quiz", "Generate a quiz on a topic.", "generate a quiz|make a quiz|create a quiz", "topic questions? difficulty?", "quiz_id:id:quiz questions:=questions"),
        ("find_tutor", "Find a tutor for a subject.", "find a tutor|look for a tutor|search for a tutor", "topic city? price#hourly?", "[name:person price_per_hour:amount rating:rating]"),
    ],
    "real_estate": [
        ("find_homes", "Search homes for sale or rent.", "search for homes|find a place|look for properties", "city property_type? bedrooms? price_range? for_rent?", "[listing_id:id:listing address:@street price:amount]"),
        ("estimate_value", "Estimate a property's value.", "estimate the value of|get a valuation for|work out how much is worth", "address bedrooms?", "estimate:amount"),
        ("calculate_mortgage", "Compute monthly mortgage payments.", "calculate the mortgage|work out the mortgage payment|compute the mortgage", "price amount#down rate years", "monthly_payment:amount"),
    ],
    "social": [
        ("get_followers", "Get follower count of a user.", "get the follower count of|check how many followers {username} has|look up the followers of", "username", "username:=username followers:@steps"),
        ("like_post", "Like a post.", "like the post|heart the post|give a like to the post", "post_id", "post_id:=post_id liked:@yes"),
        ("search_hashtag", "Find recent posts with a hashtag.", "search the hashtag|find posts tagged|look up the hashtag", "label#hashtag limit?", "[post_id:id:post author:handle#out]"),
    ],
    "rides": [
        ("request_ride", "Request a ride.", "request a ride|book a taxi|get me a car|call a cab", "from_address to_address ride_type? passengers?", "ride_id:id:ride eta_min:minutes#out price:amount"),
        ("estimate_fare", "Estimate the fare of a ride.", "estimate the fare|check how much a ride costs|get a price for a ride", "from_address to_address ride_type?", "price:amount currency:@usd"),
        ("cancel_ride", "Cancel a ride.", "cancel the ride|call off the ride|cancel my taxi", "ride_id reason?", "ride_id:=ride_id status:@cancelled"),
    ],
    "banking": [
        ("get_balance", "Get an account balance.", "check my balance|get the balance|see how much money I have", "account?", "account:=account balance:amount"),
        ("send_payment", "Send money to someone by email.", "send {amount} to {email}|pay {email} {amount}|transfer {amount} to {email}", "email amount note?", "payment_id:id:payment status:@sent"),
        ("get_account_activity", "List recent account transactions.", "list my transactions|show recent transactions|show my spending", "account? after? limit?", "[date:past_date title:company amount:amount]"),
        ("freeze_card", "Freeze a payment card.", "freeze my card|block the card|lock my card", "account reason?", "status:@done"),
    ],
    "support": [
        ("escalate_ticket", "Escalate a support ticket.", "escalate the ticket|escalate|bump the ticket", "ticket_id reason?", "ticket_id:=ticket_id status:@escalated"),
        ("assign_ticket", "Assign a ticket to an agent.", "assign ticket {ticket_id} to {assignee}|give ticket {ticket_id} to {assignee}|hand ticket {ticket_id} over to {assignee}", "ticket_id assignee", "status:@done"),
    ],
    "events": [
        ("search_concerts", "Find concerts and shows in a city.", "find concerts|look for events|search for shows", "city date? query?", "[event_id:id:show title:artist date:date price:amount]"),
        ("buy_tickets", "Buy tickets for an event.", "buy {quantity} tickets for event {event_id}|get {quantity} tickets for {event_id}|book {quantity} seats for event {event_id}", "event_id#show quantity", "order_id:id:ticket_order total:amount"),
    ],
    "pets": [("find_vet", "Find a vet near a city.", "find a vet|look for a vet|search for a vet", "city", "[name:company rating:rating]")],
}


# Words results are made of (``@pool`` in a result spec).
RESULT_POOLS: dict[str, list] = {
    "condition": ["sunny", "partly cloudy", "overcast", "light rain", "thunderstorms", "snow", "fog", "windy"],
    "aqi": ["good", "moderate", "unhealthy for sensitive groups", "low", "high"],
    "done": ["ok", "done", "success", "completed"], "yes": [True], "sent": ["sent", "delivered", "queued"],
    "confirmed": ["confirmed", "booked"], "cancelled": ["cancelled"], "escalated": ["escalated"],
    "airline": ["Air France", "Lufthansa", "Delta", "United", "KLM", "Iberia", "ANA", "Emirates"],
    "hotel": ["Hotel Lumière", "The Grand Plaza", "Harbor Inn", "City Lodge", "Sakura Stay", "Casa Azul"],
    "flight_status": ["on time", "delayed 25 minutes", "boarding", "landed", "departed"],
    "gate": ["A12", "B7", "C33", "D4", "E19"], "order_status": ["shipped", "out for delivery", "processing", "delivered"],
    "on_off": ["on", "off", "running", "stopped", "idle"], "playing": ["playing"],
    "http": [200, 200, 200, 503, 301], "short": ["https://sho.rt/x7Kp2", "https://sho.rt/Qa91z", "https://sho.rt/m3Zt"],
    "steps": [4210, 8532, 10344, 12876, 5120], "columns": ["id, name, email, created_at", "id, total, status, customer_id"],
    "kcal": [210, 340, 480, 615, 720], "level": ["INFO", "WARNING", "ERROR"], "grade": ["A", "A-", "B+", "B", "C+"],
    "sha": ["3f9a2c1", "a71be04", "9c0d4e2", "e5b7f13"], "score": ["2-1", "3-0", "108-101", "1-1", "95-99"],
    "route": ["via Main Street", "via the ring road", "via the riverside path"], "usd": ["USD"],
    "rate": [0.92, 1.08, 149.3, 0.79, 1.36], "lang": ["fr", "es", "de", "it", "en"],
    "export": ["exports/table.csv", "exports/dump.json", "exports/table.csv.gz", "exports/backup.json.gz"],
    "street": ["12 Oak Lane", "48 Market Street", "7 Harbor Way", "230 Elm Avenue"],
}
# fmt: on
