package tracking

import (
	"regexp"
)

// botRe matches the user agents of crawlers, link unfurlers, monitors and
// automation clients (HTTP libraries, command-line tools, headless and
// driven browsers), whose visits are redirected but not counted as clicks.
// An empty user agent is treated as a bot: browsers always send one.
//
// People's in-app browsers (Facebook, Instagram, LinkedIn, Pinterest,
// TikTok, WeChat...) send a full browser user agent with the app's marker
// added; none of the patterns below matches those markers, which is why
// Pinterest's crawler is matched as pinterestbot / Pinterest/0.x rather
// than by the bare name.
var botRe = regexp.MustCompile(`(?i)` +
	// Crawlers, unfurlers and monitors.
	`\bbot\b|bot/|bot;|bot\)|robot|crawl|spider|slurp|facebookexternalhit|facebot|embedly|quora link preview|` +
	`outbrain|pinterestbot|pinterest/0\.|vkshare|w3c_validator|whatsapp|telegrambot|skypeuripreview|preview|discordbot|` +
	`linkedinbot|slackbot|twitterbot|googlebot|bingbot|yandex|baiduspider|duckduckbot|applebot|` +
	`petalbot|semrush|ahrefs|mj12bot|dotbot|uptimerobot|pingdom|statuscake|lighthouse|` +
	// Command-line tools and HTTP libraries.
	`\bcurl/|\bwget|\bhttpie/|go-http-client|python-requests|python-urllib|python-httpx|aiohttp|\bhttpx/|` +
	`\baxios/|node-fetch|\bundici|^node$|\bgot \(|okhttp|\bjava/|java-http-client|apache-httpclient|` +
	`libwww-perl|lwp-|\bruby\b|faraday|guzzlehttp|\bdart/|reqwest|rest-client|postmanruntime|insomnia|scrapy|` +
	`zgrab|masscan|nmap|nikto|sqlmap|` +
	// Headless and driven browsers.
	`headless|phantomjs|puppeteer|playwright|selenium|webdriver|cypress|htmlunit`)

// IsBot reports whether a user agent belongs to an automated client.
func IsBot(userAgent string) bool {
	return userAgent == "" || botRe.MatchString(userAgent)
}
