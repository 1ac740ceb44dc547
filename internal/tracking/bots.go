package tracking

import (
	"regexp"
)

// botRe matches the user agents of crawlers, link unfurlers and monitors,
// whose visits are redirected but not counted as clicks. An empty user agent
// is treated as a bot: browsers always send one.
var botRe = regexp.MustCompile(`(?i)\bbot\b|bot/|bot;|bot\)|robot|crawl|spider|slurp|facebookexternalhit|facebot|embedly|quora link preview|` +
	`outbrain|pinterestbot|pinterest/0\.|vkshare|w3c_validator|whatsapp|telegrambot|skypeuripreview|preview|discordbot|` +
	`linkedinbot|slackbot|twitterbot|googlebot|bingbot|yandex|baiduspider|duckduckbot|applebot|` +
	`petalbot|semrush|ahrefs|mj12bot|dotbot|uptimerobot|pingdom|statuscake|headlesschrome-monitor|` +
	`python-requests|go-http-client/1\.1 \(bot\)|wget|lighthouse`)

// IsBot reports whether a user agent belongs to an automated client.
func IsBot(userAgent string) bool {
	return userAgent == "" || botRe.MatchString(userAgent)
}
