package tracking_test

import (
	"testing"

	"github.com/partnerloop/partnerloop/internal/tracking"
)

func TestIsBot(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want bool
		// regression, when set, skips the case: it names a reported defect.
		regression string
	}{
		// Crawlers and link unfurlers: redirected, not counted.
		{"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true, ""},
		{"Googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true, ""},
		{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true, ""},
		{"Slackbot-LinkExpanding", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true, ""},
		{"Slackbot", "Slackbot 1.0 (+https://api.slack.com/robots)", true, ""},
		{"facebookexternalhit", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true, ""},
		{"Twitterbot", "Twitterbot/1.0", true, ""},
		{"LinkedInBot", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", true, ""},
		{"WhatsApp", "WhatsApp/2.23.20.0 A", true, ""},
		{"Discordbot", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", true, ""},
		{"TelegramBot", "TelegramBot (like TwitterBot)", true, ""},
		{"Applebot", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", true, ""},
		{"UptimeRobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", true, ""},
		{"python-requests", "python-requests/2.31.0", true, ""},
		{"upper-case", "GOOGLEBOT/2.1", true, ""},
		{"empty UA", "", true, ""},

		// People's browsers: counted.
		{"Chrome desktop Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", false, ""},
		{"Chrome desktop macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", false, ""},
		{"Edge desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", false, ""},
		{"Firefox desktop Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", false, ""},
		{"Firefox desktop Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", false, ""},
		{"Safari desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", false, ""},
		{"Chrome Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36", false, ""},
		{"Chrome iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.111 Mobile/15E148 Safari/604.1", false, ""},
		{"Firefox Android", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", false, ""},
		{"Firefox iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15", false, ""},
		{"Safari iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", false, ""},
		{"Safari iPad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", false, ""},
		{"Samsung Internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", false, ""},
		{"Facebook in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.38.108;FBBV/587318045;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]", false, ""},
		{"LinkedIn in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.8946", false, ""},
		{"Pinterest in-app browser (Android)", "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36 [Pinterest/Android]", false,
			"bots.go: the bare `pinterest` alternative also matches people browsing in Pinterest's in-app browser; the crawler is Pinterestbot / Pinterest/0.x"},
		{"Pinterest in-app browser (iOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]", false,
			"bots.go: the bare `pinterest` alternative also matches people browsing in Pinterest's in-app browser"},
		{"Cubot phone", "Mozilla/5.0 (Linux; Android 12; CUBOT X50) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36", false, ""},
		{"Cubot phone (Build)", "Mozilla/5.0 (Linux; Android 11; CUBOT_KINGKONG_7 Build/RP1A.200720.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36", false, ""},
		{"Instagram in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 327.0.0.25.88 (iPhone15,2; iOS 17_4; en_US; en; scale=3.00; 1179x2556; 590286150)", false, ""},
		{"TikTok in-app browser", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240405.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36 trill_340003 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/34.0.3 ByteLocale/en BytedanceWebview/d8a21c6", false, ""},
		{"WeChat in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN", false, ""},
		{"Snapchat in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/13.10.0.36 (like Safari/8617.2.4.10.8, panda)", false, ""},
		{"Opera desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0", false, ""},

		// Automation clients: redirected, not counted (issue 11, finding 4).
		{"curl", "curl/8.5.0", true, ""},
		{"Go HTTP client", "Go-http-client/1.1", true, ""},
		{"Go HTTP/2 client", "Go-http-client/2.0", true, ""},
		{"wget", "Wget/1.21.4", true, ""},
		{"HeadlessChrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36", true, ""},
		{"python-requests", "python-requests/2.32.3", true, ""},
		{"python urllib", "Python-urllib/3.12", true, ""},
		{"httpx", "python-httpx/0.27.0", true, ""},
		{"aiohttp", "Python/3.12 aiohttp/3.9.5", true, ""},
		{"axios", "axios/1.7.2", true, ""},
		{"node-fetch", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", true, ""},
		{"Node fetch (undici)", "undici", true, ""},
		{"Node fetch", "node", true, ""},
		{"got", "got (https://github.com/sindresorhus/got)", true, ""},
		{"okhttp", "okhttp/4.12.0", true, ""},
		{"Java URLConnection", "Java/17.0.10", true, ""},
		{"Java HttpClient", "Java-http-client/21.0.2", true, ""},
		{"Apache HttpClient", "Apache-HttpClient/4.5.14 (Java/17.0.10)", true, ""},
		{"libwww-perl", "libwww-perl/6.72", true, ""},
		{"Ruby", "Ruby", true, ""},
		{"Guzzle", "GuzzleHttp/7", true, ""},
		{"Dart", "Dart/3.3 (dart:io)", true, ""},
		{"HTTPie", "HTTPie/3.2.2", true, ""},
		{"Postman", "PostmanRuntime/7.39.0", true, ""},
		{"Scrapy", "Scrapy/2.11.2 (+https://scrapy.org)", true, ""},
		{"PhantomJS", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", true, ""},
		{"Puppeteer marker", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Puppeteer", true, ""},
		{"Playwright marker", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Playwright/1.44", true, ""},
		{"zgrab scanner", "Mozilla/5.0 zgrab/0.x", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tracking.IsBot(tt.ua); got != tt.want {
				t.Errorf("IsBot(%q) = %v, want %v", tt.ua, got, tt.want)
			}
		})
	}
}
